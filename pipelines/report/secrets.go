package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// SecretsSARIF writes a secrets report as one SARIF run: a rule per
// gitleaks rule, a result per finding at its file and line. Results carry
// gitleaks' fingerprint as a partial fingerprint, so code scanning tracks
// a finding across commits; allowed findings are notes, the rest errors.
// The message says where the credential is and what to do, never what it
// is.
func SecretsSARIF(w io.Writer, r *facts.SecretsReport, toolVersion string) error {
	rules := map[string]sarifRule{}
	results := []sarifResult{}
	for _, f := range r.Findings {
		if _, ok := rules[f.Rule]; !ok {
			rules[f.Rule] = sarifRule{
				ID:               f.Rule,
				Name:             f.Rule,
				ShortDescription: sarifText{Text: f.Description},
				FullDescription:  sarifText{Text: f.Description + " (gitleaks rule " + f.Rule + ")"},
				Help: &sarifHelp{
					Text:     "Remove the credential from the source or the build, rotate it, and pass it at run time (a secret store or a mounted file). Deleting it in a later image layer leaves it in the image.",
					Markdown: "Remove the credential from the source or the build, **rotate it**, and pass it at run time (a secret store or a mounted file). Deleting it in a later image layer leaves it in the image.",
				},
				Properties: map[string]any{"tags": []string{"security", "secret"}},
			}
		}
		level, msg := "error", secretMessage(f)
		if f.Allowed != "" {
			level, msg = "note", msg+" Allowed by "+f.Allowed+"."
		}
		props := map[string]any{"status": string(f.Status)}
		if f.Layer != nil {
			props["layer"] = f.Layer.Index
			props["layerDigest"] = f.Layer.Digest
		}
		if f.Platform != "" {
			props["platform"] = f.Platform
		}
		line := f.Line
		if line < 1 {
			line = 1
		}
		results = append(results, sarifResult{
			RuleID:  f.Rule,
			Level:   level,
			Message: sarifText{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: strings.TrimPrefix(f.File, "/")},
				Region:           sarifRegion{StartLine: line},
			}}},
			PartialFingerprints: map[string]string{"gitleaksFingerprint/v1": f.Fingerprint},
			Properties:          props,
		})
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name: "sealyard-secrets", Version: toolVersion, InformationURI: "https://github.com/sealyard/sealyard",
			Rules: []sarifRule{},
		}},
		AutomationDetails: map[string]string{"id": "sealyard-secrets/" + repositoryOf(r.Target) + "/"},
		Results:           results,
		Properties:        map[string]any{"target": r.Target, "ruleSet": r.RuleSet},
	}
	for _, id := range ids {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rules[id])
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// secretMessage places a finding: rule, file, line, and for an image its
// layer and whether a later layer hides it.
func secretMessage(f facts.SecretFinding) string {
	msg := fmt.Sprintf("%s at %s line %d", f.Description, f.File, f.Line)
	if f.Layer != nil {
		msg += fmt.Sprintf(", layer %d (%s)", f.Layer.Index, f.Layer.Digest)
		if f.Platform != "" {
			msg += " of the " + f.Platform + " image"
		}
	}
	switch f.Status {
	case facts.SecretDeleted:
		msg += "; a later layer deletes the file, but the layer still holds it"
	case facts.SecretShadowed:
		msg += "; a later layer overwrites the file, but the layer still holds it"
	}
	return msg + ". Fingerprint " + f.Fingerprint + "."
}
