package report

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// GitHub code scanning limits a SARIF run to 25,000 results and shows the
// first 5,000; rules and locations have limits too. Reports stay well
// inside them, keeping the most severe results.
const (
	maxSARIFResults   = 5000
	maxSARIFLocations = 100
	maxSARIFTags      = 20
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool         `json:"tool"`
	AutomationDetails map[string]string `json:"automationDetails,omitempty"`
	Results           []sarifResult     `json:"results"`
	Properties        map[string]any    `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	Name             string         `json:"name,omitempty"`
	ShortDescription sarifText      `json:"shortDescription"`
	FullDescription  sarifText      `json:"fullDescription"`
	HelpURI          string         `json:"helpUri,omitempty"`
	Help             *sarifHelp     `json:"help,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints,omitempty"`
	Properties          map[string]any    `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
	Message          *sarifText    `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// SARIF renders the findings of one image as one SARIF run: a rule per
// vulnerability (its help says how to fix it), a result per affected
// package and location. imageName names the image in messages; the run's
// automationDetails.id is its repository, without tag or digest, so code
// scanning tracks the image across tags and commits. Over GitHub's limits,
// the most severe results are kept, reachable before unreachable before
// unknown, and the run's properties say what was left out.
func SARIF(r *facts.Report, imageName, toolVersion string) ([]byte, error) {
	findings := append([]facts.Finding(nil), r.Findings...)
	sort.SliceStable(findings, func(i, j int) bool {
		a, b := findings[i], findings[j]
		if ra, rb := facts.SeverityRank(a.Severity), facts.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		return reachRank(a) > reachRank(b)
	})
	truncated := 0
	var leftOut map[string]int
	if len(findings) > maxSARIFResults {
		truncated = len(findings) - maxSARIFResults
		leftOut = map[string]int{}
		for _, f := range findings[maxSARIFResults:] {
			leftOut[f.Severity]++
		}
		findings = findings[:maxSARIFResults]
	}
	rules := map[string]sarifRule{}
	var results []sarifResult
	for _, f := range findings {
		if _, ok := rules[f.ID]; !ok {
			rules[f.ID] = ruleOf(f)
		}
		results = append(results, resultOf(f, imageName))
	}
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "sealyard", Version: toolVersion, InformationURI: "https://github.com/sealyard/sealyard",
			Rules: []sarifRule{},
		}},
		AutomationDetails: map[string]string{"id": "sealyard/" + repositoryOf(imageName) + "/"},
		Results:           results,
	}
	if run.Results == nil {
		run.Results = []sarifResult{}
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rules[id])
	}
	props := map[string]any{"image": imageName}
	if r.Image != nil && r.Image.Digest != "" {
		props["imageDigest"] = r.Image.Digest
	}
	if r.DB.Digest != "" {
		props["vulnerabilityDatabase"] = r.DB.Digest
	}
	if truncated > 0 {
		props["truncatedResults"] = truncated
		var parts []string
		for _, sev := range facts.Severities {
			if n := leftOut[sev]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, sev))
			}
		}
		props["leftOut"] = fmt.Sprintf("%d results over GitHub's limit were left out (%s), the least severe and least reachable; findings.json has them all", truncated, strings.Join(parts, ", "))
	}
	run.Properties = props
	return json.MarshalIndent(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	}, "", "  ")
}

// reachRank orders reachability: reachable, unknown, not reachable.
func reachRank(f facts.Finding) int {
	switch {
	case f.Reachable == nil:
		return 1
	case *f.Reachable:
		return 2
	}
	return 0
}

// repositoryOf strips the tag or digest from an image reference.
func repositoryOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

func ruleOf(f facts.Finding) sarifRule {
	summary := f.ID + " in " + f.Package.Name
	desc := f.Description
	if desc == "" {
		desc = summary
	}
	help := fmt.Sprintf("Vulnerability %s\nSeverity: %s\nPackage: %s %s\nFixed in: %s", f.ID, f.Severity, f.Package.Name, f.Package.Version, fixText(f))
	md := fmt.Sprintf("**%s** (%s)\n\n| Package | Installed | Fixed in |\n| --- | --- | --- |\n| %s | %s | %s |\n", f.ID, f.Severity, f.Package.Name, f.Package.Version, fixText(f))
	if rs := facts.Remediations([]facts.Finding{f}); len(rs) == 1 {
		help += "\nFix: " + rs[0].Action
		md += "\n**Fix:** " + rs[0].Action + "\n"
	}
	tags := []string{"security", "vulnerability", f.Package.Type}
	tags = append(tags, f.Aliases...)
	if len(tags) > maxSARIFTags {
		tags = tags[:maxSARIFTags]
	}
	props := map[string]any{"tags": tags}
	if s := securitySeverity(f); s != "" {
		props["security-severity"] = s
	}
	rule := sarifRule{
		ID:               f.ID,
		Name:             strings.ReplaceAll(f.ID, "-", ""),
		ShortDescription: sarifText{Text: summary},
		FullDescription:  sarifText{Text: desc},
		Help:             &sarifHelp{Text: help, Markdown: md},
		Properties:       props,
	}
	if len(f.URLs) > 0 {
		rule.HelpURI = f.URLs[0]
	}
	return rule
}

func resultOf(f facts.Finding, imageName string) sarifResult {
	msg := fmt.Sprintf("%s %s in %s is affected by %s (severity %s); %s", f.Package.Name, f.Package.Version, imageName, f.ID, f.Severity, fixAdvice(f))
	if f.Reachable != nil {
		if *f.Reachable {
			msg += "; the vulnerable code is reachable"
		} else {
			msg += "; the vulnerable code is not reachable"
		}
	}
	res := sarifResult{
		RuleID:  f.ID,
		Level:   level(f),
		Message: sarifText{Text: msg},
		PartialFingerprints: map[string]string{
			"sealyard/v1": f.ID + "|" + f.Package.Name + "|" + f.Package.Version,
		},
		Properties: map[string]any{"purl": f.Package.PURL},
	}
	for i, l := range f.Locations {
		if i == maxSARIFLocations {
			break
		}
		uri := strings.TrimPrefix(l.Path, "/")
		if uri == "" {
			uri = "image"
		}
		res.Locations = append(res.Locations, sarifLocation{
			PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}, Region: sarifRegion{StartLine: 1}},
			Message:          &sarifText{Text: "in image " + imageName},
		})
	}
	if len(res.Locations) == 0 {
		res.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: "image"}, Region: sarifRegion{StartLine: 1}}}}
	}
	return res
}

// level maps severity to SARIF levels; Unknown is a warning, never a note.
func level(f facts.Finding) string {
	switch f.Severity {
	case "Critical", "High":
		return "error"
	case "Medium", "Unknown":
		return "warning"
	default:
		return "note"
	}
}

// securitySeverity is GitHub's numeric severity: the highest CVSS base
// score. A finding without one (the Go database publishes none) gets no
// number rather than one made up from its severity name; GitHub then
// shows the result's level (error, warning, note).
func securitySeverity(f facts.Finding) string {
	best := 0.0
	for _, c := range f.CVSS {
		if c.BaseScore > best {
			best = c.BaseScore
		}
	}
	if best == 0 {
		return ""
	}
	return strconv.FormatFloat(best, 'f', 1, 64)
}

func fixText(f facts.Finding) string {
	if f.Fix.State == "fixed" && len(f.Fix.Versions) > 0 {
		return strings.Join(f.Fix.Versions, ", ")
	}
	return "no fix (" + f.Fix.State + ")"
}

func fixAdvice(f facts.Finding) string {
	if f.Fix.State == "fixed" {
		v := f.Fix.Suggested
		if v == "" && len(f.Fix.Versions) > 0 {
			v = f.Fix.Versions[0]
		}
		return "upgrade to " + v
	}
	return "no fix is available yet"
}
