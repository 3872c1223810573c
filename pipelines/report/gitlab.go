package report

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// GitLabSchemaVersion is the security report schema the reports follow.
const GitLabSchemaVersion = "15.2.1"

type glScan struct {
	Analyzer  glTool `json:"analyzer"`
	Scanner   glTool `json:"scanner"`
	Type      string `json:"type"`
	StartTime string `json:"start_time"`
	EndTime   string `json:"end_time"`
	Status    string `json:"status"`
}

type glTool struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	URL     string   `json:"url,omitempty"`
	Version string   `json:"version"`
	Vendor  glVendor `json:"vendor"`
}

type glVendor struct {
	Name string `json:"name"`
}

type glIdentifier struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	URL   string `json:"url,omitempty"`
}

type glLink struct {
	URL string `json:"url"`
}

type glVuln struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	Severity    string         `json:"severity"`
	Solution    string         `json:"solution,omitempty"`
	Identifiers []glIdentifier `json:"identifiers"`
	Links       []glLink       `json:"links,omitempty"`
	Location    any            `json:"location"`
}

type glReport struct {
	Version         string   `json:"version"`
	Scan            glScan   `json:"scan"`
	Vulnerabilities []glVuln `json:"vulnerabilities"`
}

type glDependency struct {
	Package struct {
		Name string `json:"name"`
	} `json:"package"`
	Version string `json:"version"`
}

// GitLabContainerScanning renders findings as GitLab's container scanning
// report (gl-container-scanning-report.json).
func GitLabContainerScanning(r *facts.Report, imageRef, operatingSystem, toolVersion string, start, end time.Time) ([]byte, error) {
	if operatingSystem == "" {
		operatingSystem = "unknown"
	}
	rep := glReport{Version: GitLabSchemaVersion, Scan: scan("container_scanning", toolVersion, start, end), Vulnerabilities: []glVuln{}}
	for _, f := range r.Findings {
		v := vulnOf(f)
		v.Location = struct {
			Dependency      glDependency `json:"dependency"`
			OperatingSystem string       `json:"operating_system"`
			Image           string       `json:"image"`
		}{dependencyOf(f), operatingSystem, imageRef}
		rep.Vulnerabilities = append(rep.Vulnerabilities, v)
	}
	return json.MarshalIndent(rep, "", "  ")
}

// GitLabDependencyScanning renders findings as GitLab's dependency scanning
// report; each vulnerability's file is where the package lives in the image.
func GitLabDependencyScanning(r *facts.Report, toolVersion string, start, end time.Time) ([]byte, error) {
	rep := glReport{Version: GitLabSchemaVersion, Scan: scan("dependency_scanning", toolVersion, start, end), Vulnerabilities: []glVuln{}}
	for _, f := range r.Findings {
		v := vulnOf(f)
		file := "image"
		if len(f.Locations) > 0 && f.Locations[0].Path != "" {
			file = strings.TrimPrefix(f.Locations[0].Path, "/")
		}
		v.Location = struct {
			File       string       `json:"file"`
			Dependency glDependency `json:"dependency"`
		}{file, dependencyOf(f)}
		rep.Vulnerabilities = append(rep.Vulnerabilities, v)
	}
	return json.MarshalIndent(rep, "", "  ")
}

func scan(kind, version string, start, end time.Time) glScan {
	tool := glTool{ID: "sealyard", Name: "sealyard", URL: "https://github.com/sealyard/sealyard", Version: version, Vendor: glVendor{Name: "sealyard"}}
	if tool.Version == "" {
		tool.Version = "devel"
	}
	return glScan{
		Analyzer: tool, Scanner: tool, Type: kind, Status: "success",
		StartTime: start.UTC().Format("2006-01-02T15:04:05"),
		EndTime:   end.UTC().Format("2006-01-02T15:04:05"),
	}
}

func vulnOf(f facts.Finding) glVuln {
	sum := sha256.Sum256([]byte(f.ID + "|" + f.Package.Name + "|" + f.Package.Version + "|" + firstPath(f)))
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	v := glVuln{
		ID:          id,
		Name:        f.ID + " in " + f.Package.Name,
		Description: f.Description,
		Severity:    f.Severity,
		Solution:    strings.ToUpper(fixAdvice(f)[:1]) + fixAdvice(f)[1:],
		Identifiers: []glIdentifier{identifier(f.ID)},
	}
	if v.Severity == "Negligible" {
		v.Severity = "Info"
	}
	for _, a := range f.Aliases {
		v.Identifiers = append(v.Identifiers, identifier(a))
	}
	for _, u := range f.URLs {
		v.Links = append(v.Links, glLink{URL: u})
	}
	return v
}

func identifier(id string) glIdentifier {
	lower := strings.ToLower(id)
	switch {
	case strings.HasPrefix(lower, "cve-"):
		return glIdentifier{Type: "cve", Name: id, Value: id, URL: "https://nvd.nist.gov/vuln/detail/" + id}
	case strings.HasPrefix(lower, "ghsa-"):
		return glIdentifier{Type: "ghsa", Name: id, Value: id, URL: "https://github.com/advisories/" + id}
	case strings.HasPrefix(lower, "go-"):
		return glIdentifier{Type: "go", Name: id, Value: id, URL: "https://pkg.go.dev/vuln/" + id}
	default:
		return glIdentifier{Type: "advisory", Name: id, Value: id}
	}
}

func dependencyOf(f facts.Finding) glDependency {
	var d glDependency
	d.Package.Name = f.Package.Name
	d.Version = f.Package.Version
	return d
}

func firstPath(f facts.Finding) string {
	if len(f.Locations) == 0 {
		return ""
	}
	return f.Locations[0].Path
}
