package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sealyard/sealyard/internal/testutil/schemas"
	"github.com/sealyard/sealyard/pipelines/facts"
)

func sample() (*facts.Report, *facts.Decision) {
	tr, fa := true, false
	r := &facts.Report{
		SchemaVersion: facts.FindingsSchema,
		Image:         &facts.Image{Name: "registry.example.com/app", Digest: "sha256:" + strings.Repeat("a", 64), Platform: "linux/amd64"},
		DB:            facts.DB{SchemaVersion: "v6.1.10", Digest: "sha256:" + strings.Repeat("b", 64)},
		Findings: []facts.Finding{
			{
				ID: "GO-2021-0113", Aliases: []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"}, Severity: "Unknown",
				Fix:       facts.Fix{State: "fixed", Versions: []string{"0.3.7"}, Suggested: "0.3.7"},
				Package:   facts.Package{Name: "golang.org/x/text", Version: "v0.3.5", Type: "go-module", PURL: "pkg:golang/golang.org/x/text@v0.3.5"},
				Locations: []facts.Location{{Path: "/usr/local/bin/app"}}, Reachable: &tr,
				URLs: []string{"https://pkg.go.dev/vuln/GO-2021-0113"}, Description: "Out-of-bounds read in golang.org/x/text/language",
			},
			{
				ID: "CVE-2023-0001", Severity: "High", CVSS: []facts.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", BaseScore: 7.5}},
				Fix:       facts.Fix{State: "not-fixed", Versions: []string{}},
				Package:   facts.Package{Name: "libfoo", Version: "1.2-3", Type: "deb"},
				Locations: []facts.Location{{Path: "/var/lib/dpkg/status"}}, Reachable: &fa,
			},
			{
				ID: "CVE-2023-0002", Severity: "Negligible", Fix: facts.Fix{State: "wont-fix", Versions: []string{}},
				Package: facts.Package{Name: "libbar", Version: "2", Type: "deb"},
			},
		},
	}
	r.Summary = facts.Summarize(r.Findings, 0)
	d := &facts.Decision{
		SchemaVersion: facts.DecisionSchema, Decision: "deny", Verdict: "fail", Mode: facts.Enforce,
		Violations: []facts.Violation{{Rule: "SY-VULN-001", Title: "Fixable vulnerability in code that may run", Message: "upgrade golang.org/x/text from 0.3.5 to 0.3.7 (GO-2021-0113)\nsecond line, with: commas"}},
		Warnings:   []facts.Violation{{Rule: "SY-VULN-003", Title: "Vulnerability without a fix", Message: "CVE-2023-0001 in libfoo has no fix yet"}},
		Counts:     facts.Counts{Findings: 3, Violations: 1, Warnings: 1},
		Digests:    facts.DecisionDigests{Policy: "sha256:" + strings.Repeat("c", 64), DB: r.DB.Digest},
	}
	return r, d
}

func TestSARIF(t *testing.T) {
	r, _ := sample()
	out, err := SARIF(r, "registry.example.com/app:v1", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	schemas.Validate(t, schemas.SARIF, out)
	var doc struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID         string
						Properties map[string]any
					}
				}
			}
			Results []struct {
				RuleID string
				Level  string
			}
		}
	}
	json.Unmarshal(out, &doc)
	if len(doc.Runs) != 1 || len(doc.Runs[0].Tool.Driver.Rules) != 3 || len(doc.Runs[0].Results) != 3 {
		t.Fatalf("runs %d rules %d results %d", len(doc.Runs), len(doc.Runs[0].Tool.Driver.Rules), len(doc.Runs[0].Results))
	}
	levels := map[string]string{}
	for _, res := range doc.Runs[0].Results {
		levels[res.RuleID] = res.Level
	}
	if levels["CVE-2023-0001"] != "error" || levels["GO-2021-0113"] != "warning" || levels["CVE-2023-0002"] != "note" {
		t.Fatalf("levels %v", levels)
	}
	for _, rule := range doc.Runs[0].Tool.Driver.Rules {
		if rule.ID == "CVE-2023-0001" && rule.Properties["security-severity"] != "7.5" {
			t.Fatalf("security-severity %v", rule.Properties["security-severity"])
		}
		if rule.ID == "GO-2021-0113" && rule.Properties["security-severity"] != nil {
			t.Fatal("an Unknown severity got a number")
		}
	}
	again, _ := SARIF(r, "registry.example.com/app:v1", "v1.0.0")
	if !bytes.Equal(out, again) {
		t.Fatal("SARIF is not deterministic")
	}
	// The same repository under another tag or by digest: the same
	// automation id, so code scanning tracks it.
	for _, other := range []string{"registry.example.com/app:v2", "registry.example.com/app@sha256:" + strings.Repeat("d", 64), "registry.example.com/app"} {
		o, _ := SARIF(r, other, "v1.0.0")
		if !strings.Contains(string(o), `"id": "sealyard/registry.example.com/app/"`) {
			t.Fatalf("%s: the automation id is not the repository's", other)
		}
	}
	if !strings.Contains(string(out), "Fix: go get golang.org/x/text@v0.3.7") {
		t.Fatal("the rule's help does not give the fix")
	}
}

func TestSARIFStaysWithinLimits(t *testing.T) {
	r, _ := sample()
	many := r.Findings[0]
	r.Findings = nil
	for i := 0; i < maxSARIFResults+10; i++ {
		f := many
		f.ID = "GO-9999-" + strings.Repeat("0", 4) + string(rune('a'+i%26))
		r.Findings = append(r.Findings, f)
	}
	out, err := SARIF(r, "img", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), `"ruleId"`); n != maxSARIFResults {
		t.Fatalf("%d results", n)
	}
	if !strings.Contains(string(out), `"truncatedResults": 10`) || !strings.Contains(string(out), "10 results over GitHub's limit were left out (10 Unknown)") {
		t.Fatal("truncation not recorded")
	}
}

// TestSARIFKeepsTheReachable: over the limit, at one severity, the
// reachable results are kept and the unreachable left out.
func TestSARIFKeepsTheReachable(t *testing.T) {
	r, _ := sample()
	tmpl := r.Findings[0]
	r.Findings = nil
	yes, no := true, false
	for i := 0; i < maxSARIFResults+5; i++ {
		f := tmpl
		f.ID = fmt.Sprintf("GO-9999-%05d", i)
		f.Reachable = &no
		if i >= maxSARIFResults {
			f.Reachable = &yes // listed last, kept first
		}
		r.Findings = append(r.Findings, f)
	}
	out, err := SARIF(r, "img", "v1")
	if err != nil {
		t.Fatal(err)
	}
	for i := maxSARIFResults; i < maxSARIFResults+5; i++ {
		if !strings.Contains(string(out), fmt.Sprintf(`"ruleId": "GO-9999-%05d"`, i)) {
			t.Fatalf("the reachable GO-9999-%05d was left out", i)
		}
	}
}

func TestGitLabReports(t *testing.T) {
	r, _ := sample()
	start, end := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC), time.Date(2026, 11, 29, 10, 1, 0, 0, time.UTC)
	cs, err := GitLabContainerScanning(r, "registry.example.com/app:v1", "debian 12", "v1.0.0", start, end)
	if err != nil {
		t.Fatal(err)
	}
	schemas.Validate(t, schemas.GitLabContainerScanning, cs)
	ds, err := GitLabDependencyScanning(r, "v1.0.0", start, end)
	if err != nil {
		t.Fatal(err)
	}
	schemas.Validate(t, schemas.GitLabDependencyScanning, ds)
	if !strings.Contains(string(cs), `"severity": "Info"`) || !strings.Contains(string(cs), "Upgrade to 0.3.7") {
		t.Fatalf("container scanning report:\n%s", cs)
	}
}

func TestMarkdownAndGitHub(t *testing.T) {
	r, d := sample()
	md := string(Markdown(Summary{Image: "registry.example.com/app:v1", Digest: r.Image.Digest, Decision: d, Findings: r, Outputs: map[string]string{"SARIF": "sealyard-out/sealyard.sarif"}}))
	for _, want := range []string{"⛔", "denied", "### Fixes, one line each", "| `go get golang.org/x/text@v0.3.7` (golang.org/x/text v0.3.5 → 0.3.7) | 1 | 1 | Unknown | - | GO-2021-0113 |",
		"### Policy violations", "upgrade golang.org/x/text from 0.3.5 to 0.3.7", "1 warnings", "sealyard-out/sealyard.sarif", "| Pushed | no |"} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	var ann bytes.Buffer
	if err := GitHubAnnotations(&ann, d); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(ann.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "::error title=SY-VULN-001 Fixable vulnerability in code that may run::upgrade") ||
		!strings.Contains(lines[0], "%0Asecond line, with: commas") || !strings.HasPrefix(lines[1], "::warning ") {
		t.Fatalf("annotations:\n%s", ann.String())
	}
	var out bytes.Buffer
	GitHubOutputs(&out, map[string]string{"digest": r.Image.Digest, "decision": "deny", "multi": "a\nb"}, []string{"digest", "decision", "multi"})
	if out.String() != "digest="+r.Image.Digest+"\ndecision=deny\nmulti<<SEALYARD_EOF\na\nb\nSEALYARD_EOF\n" {
		t.Fatalf("outputs %q", out.String())
	}
}

func TestMarkdownSplitsBaseFromApplication(t *testing.T) {
	r, d := sample()
	yes, no, zero, one := true, false, 0, 1
	base := r.Findings[0]
	base.ID, base.Package.Name, base.Package.PURL = "GO-2023-1988", "golang.org/x/net", "pkg:golang/golang.org/x/net@v0.10.0"
	base.Fix.Suggested = "0.13.0"
	base.Locations = []facts.Location{{Path: "/usr/local/bin/nethtml", LayerIndex: &zero, Base: &yes}}
	r.Findings[0].Locations = []facts.Location{{Path: "/app/textparse", LayerIndex: &one, Base: &no}}
	r.Findings = append(r.Findings, base)
	md := string(Markdown(Summary{Image: "app:v1", Digest: r.Image.Digest, Decision: d, Findings: r}))
	app := strings.Index(md, "### Fix in your code")
	up := strings.Index(md, "### Fix by updating the base image (clears 1 advisories)")
	if app < 0 || up < 0 {
		t.Fatalf("the summary does not split the fixes:\n%s", md)
	}
	text, net := strings.Index(md, "go get golang.org/x/text@v0.3.7"), strings.Index(md, "go get golang.org/x/net@v0.13.0")
	if !(app < text && text < up && up < net) {
		t.Fatalf("x/text belongs under your code, x/net under the base image:\n%s", md)
	}
}

// With a baseline, the summary says what the change introduced and what
// it fixed; and it lists credentials by place, never value.
func TestMarkdownBaselineAndSecrets(t *testing.T) {
	d := &facts.Decision{Decision: "deny", Verdict: "fail",
		New:    []facts.FindingRef{{ID: "GO-2024-2687", Package: "golang.org/x/net", Version: "v0.10.0"}},
		Fixed:  []facts.FindingRef{{ID: "GO-2021-0113", Package: "golang.org/x/text", Version: "v0.3.5"}},
		Counts: facts.Counts{NewFindings: 1, KnownFindings: 2, FixedFindings: 1},
	}
	base, change := 105, 126
	d.Risk = &facts.Risk{Score: 436, Band: "high", Vulnerabilities: 231, Secrets: 100, ExposurePercent: 132, Root: true, ExposedPorts: true, Baseline: &base, Change: &change}
	sec := &facts.SecretsReport{Scanned: facts.SecretCounts{Files: 3, Layers: 2}, Findings: []facts.SecretFinding{
		{Rule: "github-pat", File: "/etc/a.env", Line: 2, Fingerprint: "/etc/a.env:github-pat:2", Status: facts.SecretDeleted, Layer: &facts.SecretLayer{Index: 1}},
	}}
	md := string(Markdown(Summary{Image: "app:v2", Decision: d, Secrets: sec}))
	for _, want := range []string{
		"| Against the baseline | 1 new (GO-2024-2687 golang.org/x/net), 1 fixed (GO-2021-0113 golang.org/x/text), 2 known |",
		"| Secrets | 1 found in 3 files of 2 layers (0 allowed) |",
		"| Risk score | 436 (high): 231 vulnerability points, 100 for credentials, exposure ×1.32 (root, exposed ports); +126 vulnerability points against the baseline (105) |",
		"| github-pat | `/etc/a.env` | 2 | 1 | deleted | `/etc/a.env:github-pat:2` | - |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the summary lacks %q:\n%s", want, md)
		}
	}
}
