package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealyard/sealyard/pipelines/facts"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func engine(t *testing.T, opts ...Option) *Engine {
	t.Helper()
	e, err := New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func textFinding() facts.Finding {
	tr := true
	return facts.Finding{
		ID:        "GO-2021-0113",
		Aliases:   []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"},
		Severity:  "Unknown",
		Fix:       facts.Fix{State: "fixed", Versions: []string{"0.3.7"}, Suggested: "0.3.7"},
		Package:   facts.Package{Name: "golang.org/x/text", Version: "v0.3.5", Type: "go-module", PURL: "pkg:golang/golang.org/x/text@v0.3.5"},
		Locations: []facts.Location{{Path: "/usr/local/bin/app"}},
		Reachable: &tr,
		Symbols:   []string{"golang.org/x/text/language.Parse"},
	}
}

func input(fs ...facts.Finding) Input {
	in := Input{
		Image: Image{
			Reference: "registry.example.com/app:v1",
			Digest:    "sha256:" + strings.Repeat("a", 64),
			Platforms: []string{"linux/amd64"},
			Configs:   []Config{{Platform: "linux/amd64", User: "65532", EnvNames: []string{"PATH"}}},
		},
		Findings: fs,
		Digests:  Digests{DB: "sha256:" + strings.Repeat("b", 64)},
	}
	in.AddSBOM("linux/amd64", []facts.SBOMPackage{{Name: "golang.org/x/text", Version: "v0.3.5", Type: "go-module", Licenses: []string{"BSD-3-Clause"}}})
	return in
}

func gate(t *testing.T, e *Engine, in Input, opts ...GateOption) *Decision {
	t.Helper()
	d, seen, err := e.Gate(context.Background(), in, append([]GateOption{WithNow(now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(seen)
	if err := ValidateInput(raw); err != nil {
		t.Fatalf("the input the policies saw fails its schema: %v", err)
	}
	return d
}

func rules(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Rule)
	}
	return out
}

func TestGateDeniesAndExplains(t *testing.T) {
	e := engine(t)
	d := gate(t, e, input(textFinding()))
	if d.Decision != "deny" || d.Verdict != "fail" || len(d.Violations) != 1 {
		t.Fatalf("decision %s, violations %v", d.Decision, rules(d.Violations))
	}
	v := d.Violations[0]
	if v.Rule != "SY-VULN-001" || !strings.Contains(v.Message, "upgrade golang.org/x/text from 0.3.5 to 0.3.7") || !strings.Contains(v.Message, "GO-2021-0113") {
		t.Fatalf("violation %+v", v)
	}
	if d.Digests.Policy != e.Digest() || !strings.HasPrefix(d.Digests.Input, "sha256:") || d.Digests.DB == "" || d.Digests.Image == "" {
		t.Fatalf("digests %+v", d.Digests)
	}
	// Same facts, same bytes.
	a, _ := json.Marshal(d)
	b, _ := json.Marshal(gate(t, e, input(textFinding())))
	if string(a) != string(b) {
		t.Fatal("two evaluations of the same input differ")
	}
	// Unreachable: warn only.
	f := textFinding()
	fl := false
	f.Reachable = &fl
	d = gate(t, e, input(f))
	if d.Decision != "allow" || len(d.Warnings) != 1 || d.Warnings[0].Rule != "SY-VULN-002" {
		t.Fatalf("unreachable: %s %v %v", d.Decision, rules(d.Violations), rules(d.Warnings))
	}
	// Audit mode: the verdict fails, nothing is denied.
	d = gate(t, e, input(textFinding()), WithMode(Audit))
	if d.Decision != "allow" || d.Verdict != "fail" || len(d.Violations) != 1 {
		t.Fatalf("audit: %s %s", d.Decision, d.Verdict)
	}
}

func exceptions(t *testing.T, yaml string) []Exception {
	t.Helper()
	es, err := ParseExceptions(strings.NewReader(yaml), "exceptions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestExceptions(t *testing.T) {
	e := engine(t)
	active := exceptions(t, `exceptions:
  - vulnerability: CVE-2021-38561
    package: pkg:golang/golang.org/x/text
    reason: language tags come from our own config only
    owner: payments-team@example.com
    expires: 2026-12-31
`)
	d := gate(t, e, input(textFinding()), WithExceptions(active...))
	if d.Decision != "allow" || len(d.Exceptions) != 1 || len(d.Exceptions[0].Suppressed) != 1 || d.Counts.SuppressedByException != 1 {
		t.Fatalf("active exception: %s %+v", d.Decision, d.Exceptions)
	}
	if d.Exceptions[0].Owner != "payments-team@example.com" || d.Exceptions[0].Suppressed[0].Rule != "SY-VULN-001" {
		t.Fatalf("applied %+v", d.Exceptions[0])
	}
	expired := exceptions(t, `exceptions:
  - vulnerability: GO-2021-0113
    reason: waiting for the upstream release
    owner: payments-team@example.com
    expires: 2026-11-01
`)
	d = gate(t, e, input(textFinding()), WithExceptions(expired...))
	if d.Decision != "deny" || len(d.Exceptions) != 0 {
		t.Fatalf("expired exception applied: %s %+v", d.Decision, d.Exceptions)
	}
	got := strings.Join(rules(d.Violations), ",")
	if got != "SY-EXC-001,SY-VULN-001" {
		t.Fatalf("violations %s", got)
	}
	if !strings.Contains(d.Violations[0].Message, "owned by payments-team@example.com expired on 2026-11-01") {
		t.Fatalf("message %q", d.Violations[0].Message)
	}
	// An expired exception about something else stays quiet.
	other := exceptions(t, `exceptions:
  - vulnerability: GO-2099-0001
    reason: r
    owner: o
    expires: 2020-01-01
`)
	if d := gate(t, e, input(), WithExceptions(other...)); d.Decision != "allow" {
		t.Fatalf("irrelevant expired exception denied: %v", rules(d.Violations))
	}
	// A rule exception, limited to another image, does not apply here.
	elsewhere := exceptions(t, `exceptions:
  - rule: SY-VULN-001
    image: registry.example.com/other
    reason: r
    owner: o
    expires: 2027-01-01
`)
	if d := gate(t, e, input(textFinding()), WithExceptions(elsewhere...)); d.Decision != "deny" {
		t.Fatal("an exception for another image applied")
	}
}

func TestExceptionsFileErrors(t *testing.T) {
	tests := map[string]struct{ yaml, want string }{
		"missing owner":    {"exceptions:\n  - vulnerability: GO-1\n    reason: r\n    expires: 2027-01-01\n", "exception 1 (line 2): missing owner"},
		"no selector":      {"exceptions:\n  - reason: r\n    owner: o\n    expires: 2027-01-01\n", "no selector"},
		"image alone":      {"exceptions:\n  - image: registry.example.com/app\n    reason: r\n    owner: o\n    expires: 2027-01-01\n", "exception 1 (line 2): image \"registry.example.com/app\" alone would waive every rule"},
		"waive SY-EXC-001": {"exceptions:\n  - rule: SY-EXC-001\n    reason: r\n    owner: o\n    expires: 2027-01-01\n", "SY-EXC-001 (an expired exception) cannot be waived"},
		"bad date":         {"exceptions:\n  - rule: SY-VULN-001\n    reason: r\n    owner: o\n    expires: next week\n", "not a date"},
		"unknown field":    {"exceptions:\n  - rule: SY-VULN-001\n    reason: r\n    owner: o\n    expires: 2027-01-01\n    approver: x\n", "approver"},
		"not YAML":         {"exceptions: [", "bad exceptions file"},
		"empty":            {"", "empty"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseExceptions(strings.NewReader(tt.yaml), "x.yaml")
			if !errors.Is(err, ErrBadExceptions) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want %q", err, tt.want)
			}
		})
	}
}

const vexDoc = `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/app-1",
  "author": "Payments Security <security@example.com>",
  "timestamp": "2026-11-01T00:00:00Z",
  "version": 1,
  "statements": [
    {
      "vulnerability": {"name": "GO-2021-0113"},
      "products": [{"@id": "registry.example.com/app@sha256:` + "aaaa" + `", "subcomponents": [{"@id": "pkg:golang/golang.org/x/text@v0.3.5"}]}],
      "status": "%s",
      %s
      "timestamp": "2026-11-01T00:00:00Z"
    }
  ]
}`

func vexFor(t *testing.T, status, extra string) *VEXDocument {
	t.Helper()
	doc := strings.Replace(vexDoc, "aaaa", strings.Repeat("a", 64), 1)
	doc = strings.Replace(doc, "%s", status, 1)
	doc = strings.Replace(doc, "%s", extra, 1)
	v, err := ParseVEX([]byte(doc), "app.openvex.json")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVEX(t *testing.T) {
	e := engine(t)
	d := gate(t, e, input(textFinding()), WithVEX(vexFor(t, "not_affected", `"justification": "vulnerable_code_not_in_execute_path",`)))
	if d.Decision != "allow" || len(d.VEX) != 1 || d.VEX[0].Justification != "vulnerable_code_not_in_execute_path" || d.Counts.SuppressedByVEX != 1 {
		t.Fatalf("not_affected: %s %+v", d.Decision, d.VEX)
	}
	for _, status := range []string{"affected", "under_investigation"} {
		extra := ""
		if status == "affected" {
			extra = `"action_statement": "upgrade",`
		}
		d := gate(t, e, input(textFinding()), WithVEX(vexFor(t, status, extra)))
		if d.Decision != "deny" || len(d.VEX) != 0 {
			t.Errorf("%s suppressed the finding: %s", status, d.Decision)
		}
	}
	for name, doc := range map[string]string{
		"CycloneDX":   `{"bomFormat": "CycloneDX", "specVersion": "1.6"}`,
		"not JSON":    "hello",
		"no context":  `{"statements": [{"vulnerability": {"name": "X"}, "status": "fixed"}]}`,
		"bad status":  `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "X"}, "products": [{"@id": "x"}], "status": "fine"}]}`,
		"no products": `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}`,
	} {
		if _, err := ParseVEX([]byte(doc), name); !errors.Is(err, ErrBadVEX) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBaselineOnlyNew(t *testing.T) {
	dir := t.TempDir()
	old := facts.Report{SchemaVersion: facts.FindingsSchema, Findings: []facts.Finding{textFinding()}}
	raw, _ := json.Marshal(old)
	b, err := ParseBaseline(raw, "old.json")
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "only-new.yaml")
	os.WriteFile(data, []byte("settings:\n  vulnerabilities:\n    only_new: true\n"), 0o644)
	e := engine(t, WithDataFile(data))
	d := gate(t, e, input(textFinding()), WithBaseline(b))
	if d.Decision != "allow" || d.Counts.KnownFindings != 1 {
		t.Fatalf("a known finding denied under only_new: %v %+v", rules(d.Violations), d.Counts)
	}
	n := textFinding()
	n.ID = "GO-2022-1059"
	d = gate(t, e, input(textFinding(), n), WithBaseline(b))
	if d.Decision != "deny" || d.Counts.NewFindings != 1 || len(d.Violations) != 1 || !strings.Contains(d.Violations[0].Message, "GO-2022-1059") {
		t.Fatalf("a new finding: %s %v", d.Decision, d.Violations)
	}
	// A decision document is a baseline too.
	draw, _ := json.Marshal(d)
	if b2, err := ParseBaseline(draw, "decision.json"); err != nil || !b2.Has("GO-2022-1059", "golang.org/x/text") {
		t.Fatalf("decision as baseline: %v %v", b2, err)
	}
	// Against a baseline holding an advisory this image no longer has,
	// the decision says it was fixed, and the input records it.
	gone := textFinding()
	gone.ID = "GO-2020-0001"
	b.AddFindings([]facts.Finding{gone})
	d, seen, err := e.Gate(context.Background(), input(textFinding()), WithBaseline(b), WithNow(now))
	if err != nil {
		t.Fatal(err)
	}
	if d.Counts.FixedFindings != 1 || len(d.Fixed) != 1 || d.Fixed[0].ID != "GO-2020-0001" || seen.Baseline == nil || seen.Baseline.Source != "old.json" {
		t.Fatalf("fixed %+v, counts %+v, input baseline %+v", d.Fixed, d.Counts, seen.Baseline)
	}
	raw, _ = facts.Encode(seen)
	if err := ValidateInput(raw); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseBaseline([]byte(`{"schemaVersion": "other"}`), "x"); !errors.Is(err, ErrBadBaseline) {
		t.Fatal("an unknown document was taken as a baseline")
	}
}

func TestPolicyErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "custom.rego"), []byte("package sealyard.custom\n\nimport rego.v1\n\ndeny contains msg if {\n\tmsg := \"x\"\n\tinput.image.user ==\n}\n"), 0o644)
	_, err := New(context.Background(), WithPolicyDir(dir))
	if !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "custom.rego:8") {
		t.Fatalf("syntax error: %v", err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "p.rego"), []byte("package main\n\nimport rego.v1\n\ndeny contains \"x\" if true\n"), 0o644)
	if _, err := New(context.Background(), WithPolicyDir(other)); err == nil || !strings.Contains(err.Error(), "not under sealyard") {
		t.Fatalf("package outside sealyard: %v", err)
	}
	if _, err := New(context.Background(), WithPolicyDir(filepath.Join(dir, "none"))); !errors.Is(err, ErrPolicy) {
		t.Fatalf("missing dir: %v", err)
	}
	bad := filepath.Join(dir, "data.yaml")
	os.WriteFile(bad, []byte("settings: [unclosed"), 0o644)
	if _, err := New(context.Background(), WithDataFile(bad)); !errors.Is(err, ErrPolicy) {
		t.Fatalf("bad data: %v", err)
	}
}

func TestUserPolicyAndSettings(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "team.rego"), []byte(`package sealyard.team

import rego.v1

deny contains v if {
	some c in input.image.configs
	not c.labels["org.opencontainers.image.source"]
	v := {"rule": "TEAM-001", "title": "Source label", "msg": "add the org.opencontainers.image.source label"}
}
`), 0o644)
	data := filepath.Join(dir, "settings.yaml")
	os.WriteFile(data, []byte("settings:\n  user:\n    root: warn\n"), 0o644)
	e := engine(t, WithPolicyDir(dir), WithDataFile(data))
	in := input()
	in.Image.Configs[0].User = ""
	d := gate(t, e, in)
	if strings.Join(rules(d.Violations), ",") != "TEAM-001" || strings.Join(rules(d.Warnings), ",") != "SY-IMG-001" {
		t.Fatalf("violations %v warnings %v", rules(d.Violations), rules(d.Warnings))
	}
	if e.Digest() == engine(t).Digest() {
		t.Fatal("the policy digest does not change with the bundle")
	}
}

func TestInputSchema(t *testing.T) {
	bad := input(textFinding())
	bad.Findings[0].Severity = "Severe"
	_, _, err := engine(t).Gate(context.Background(), bad, WithNow(now))
	if !errors.Is(err, ErrBadInput) {
		t.Fatalf("a bad input was evaluated: %v", err)
	}
}

// An exception for a rule and image cannot waive an expired exception:
// SY-EXC-001 stands whatever else is waived.
func TestExpiredExceptionCannotBeWaived(t *testing.T) {
	e := engine(t)
	es := exceptions(t, `exceptions:
  - vulnerability: GO-2021-0113
    reason: r
    owner: payments-team@example.com
    expires: 2026-11-01
  - rule: SY-VULN-001
    image: registry.example.com/app
    reason: everything for this image
    owner: o
    expires: 2027-01-01
`)
	d := gate(t, e, input(textFinding()), WithExceptions(es...))
	if d.Decision != "deny" || strings.Join(rules(d.Violations), ",") != "SY-EXC-001" {
		t.Fatalf("decision %s, violations %v; want a deny on SY-EXC-001 alone", d.Decision, rules(d.Violations))
	}
}

// Every platform image is judged: an index whose amd64 image runs as a
// user and whose arm64 image runs as root is denied, naming arm64.
func TestEveryPlatformJudged(t *testing.T) {
	in := input()
	in.Image.Platforms = append(in.Image.Platforms, "linux/arm64")
	in.Image.Configs = append(in.Image.Configs, Config{Platform: "linux/arm64", User: "root"})
	in.AddSBOM("linux/arm64", nil)
	d := gate(t, engine(t), in)
	if d.Decision != "deny" || len(d.Violations) != 1 || d.Violations[0].Rule != "SY-IMG-001" || !strings.Contains(d.Violations[0].Message, "linux/arm64") {
		t.Fatalf("decision %s, violations %+v", d.Decision, d.Violations)
	}
}

// A label value that is a credential is redacted before the policies see
// it, SY-SEC-002 still fires, and neither the input nor the decision
// holds the value.
func TestLabelSecretsRedacted(t *testing.T) {
	secret := "AKIA" + "QWERTYUIOPASDFGH"
	in := input()
	in.Image.Configs[0].Labels = map[string]string{"build.note": secret, "deploy.token": "tok-" + "9f8e7d6c", "team": "payments"}
	d, seen, err := engine(t).Gate(context.Background(), in, WithNow(now))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rules(d.Violations), ","); got != "SY-SEC-002,SY-SEC-002" {
		t.Fatalf("violations %v", got)
	}
	raw, _ := facts.Encode(seen)
	dec, _ := facts.Encode(d)
	for _, doc := range [][]byte{raw, dec} {
		if bytes.Contains(doc, []byte(secret)) || bytes.Contains(doc, []byte("9f8e7d6c")) {
			t.Fatalf("a label secret reached a document:\n%s", doc)
		}
	}
	c := seen.Image.Configs[0]
	if c.Labels["team"] != "payments" || !strings.HasPrefix(c.Labels["build.note"], "<redacted sha256:") || strings.Join(c.SecretLabels, ",") != "build.note,deploy.token" {
		t.Fatalf("labels %v, secret labels %v", c.Labels, c.SecretLabels)
	}
	if in.Image.Configs[0].Labels["build.note"] != secret {
		t.Fatal("Gate changed the caller's labels")
	}
}

// The decision's input digest is of the input exactly as written, and a
// replay of those bytes gives the same decision byte for byte; a changed
// input or another policy bundle does not replay.
func TestReplay(t *testing.T) {
	e := engine(t)
	es := exceptions(t, `exceptions:
  - vulnerability: GO-2021-0113
    reason: r
    owner: o
    expires: 2027-01-01
`)
	for _, opts := range [][]GateOption{nil, {WithExceptions(es...)}, {WithMode(Audit)}} {
		d, seen, err := e.Gate(context.Background(), input(textFinding()), append([]GateOption{WithNow(now)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := facts.Encode(seen)
		if d.Digests.Input != facts.Digest(raw) {
			t.Fatalf("input digest %s, the written input hashes to %s", d.Digests.Input, facts.Digest(raw))
		}
		want, _ := facts.Encode(d)
		again, err := e.Replay(context.Background(), raw, d.Mode)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := facts.Encode(again)
		if !bytes.Equal(got, want) {
			t.Fatalf("replay differs:\n%s\nwant\n%s", got, want)
		}
	}
	_, seen, _ := e.Gate(context.Background(), input(textFinding()), WithNow(now))
	seen.Findings = []facts.Finding{}
	tampered, _ := facts.Encode(seen)
	d, err := e.Replay(context.Background(), tampered, Enforce)
	if err != nil || d.Decision != "allow" {
		t.Fatalf("replay of an input without findings: %v %v", d, err)
	}
	other := engine(t, WithDataFile(writeTemp(t, "settings:\n  user:\n    root: warn\n")))
	if _, err := other.Replay(context.Background(), tampered, Enforce); !errors.Is(err, ErrPolicyMismatch) {
		t.Fatalf("replay under another policy bundle: %v", err)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOneViolationPerUpgrade: three advisories of one package, fixed in
// different versions, are one action, the upgrade that fixes them all.
// An exception waives one advisory, not the action: the others still
// deny.
func TestOneViolationPerUpgrade(t *testing.T) {
	e := engine(t)
	a, b, c := textFinding(), textFinding(), textFinding()
	b.ID, b.Aliases, b.Fix = "GO-2022-1059", []string{}, facts.Fix{State: "fixed", Versions: []string{"0.3.8"}, Suggested: "0.3.8"}
	c.ID, c.Aliases, c.Fix = "GO-2020-0015", []string{}, facts.Fix{State: "fixed", Versions: []string{"0.3.3"}, Suggested: "0.3.3"}
	d := gate(t, e, input(a, b, c))
	if len(d.Violations) != 1 || len(d.Violations[0].Findings) != 3 ||
		d.Violations[0].Message != "upgrade golang.org/x/text from 0.3.5 to 0.3.8: one upgrade clears 3 advisories (GO-2020-0015, GO-2021-0113, GO-2022-1059) in /usr/local/bin/app" {
		t.Fatalf("violations %+v", d.Violations)
	}
	waived := exceptions(t, `exceptions:
  - vulnerability: GO-2022-1059
    reason: the vulnerable parser never sees user input
    owner: payments-team@example.com
    expires: 2026-12-31
`)
	d = gate(t, e, input(a, b, c), WithExceptions(waived...))
	if d.Decision != "deny" || len(d.Violations) != 1 || len(d.Violations[0].Findings) != 2 ||
		!strings.Contains(d.Violations[0].Message, "to 0.3.7: one upgrade clears 2 advisories (GO-2020-0015, GO-2021-0113)") || d.Counts.SuppressedByException != 1 {
		t.Fatalf("with one advisory waived: %s %+v", d.Decision, d.Violations)
	}
}

// Credentials found in image files (the secrets stage) deny through
// SY-SEC-003, one violation each, and the input that carries them passes
// the input schema; an allowed one does not deny.
func TestSecretFindingsDeny(t *testing.T) {
	layer := &facts.SecretLayer{Index: 1, Digest: "sha256:" + strings.Repeat("a", 64), DiffID: "sha256:" + strings.Repeat("b", 64)}
	in := input()
	in.AddSecrets(&facts.SecretsReport{RuleSet: "gitleaks v8.30.1 default rules", Findings: []facts.SecretFinding{
		{Rule: "github-pat", Description: "GitHub Personal Access Token", File: "/etc/app.env", Line: 3, Column: 7, Fingerprint: "/etc/app.env:github-pat:3", Status: facts.SecretDeleted, Platform: "linux/amd64", Layer: layer},
		{Rule: "private-key", Description: "Private Key", File: "/srv/key.pem", Line: 1, Column: 1, Fingerprint: "/srv/key.pem:private-key:1", Status: facts.SecretPresent, Platform: "linux/amd64", Layer: layer},
		{Rule: "aws-access-token", Description: "AWS", File: "/testdata/x", Line: 1, Column: 1, Fingerprint: "/testdata/x:aws-access-token:1", Status: facts.SecretPresent, Platform: "linux/amd64", Layer: layer, Allowed: "path testdata/**"},
	}})
	d := gate(t, engine(t), in)
	if got := strings.Join(rules(d.Violations), ","); d.Decision != "deny" || got != "SY-SEC-003,SY-SEC-003" {
		t.Fatalf("decision %s, violations %v", d.Decision, got)
	}
	for _, v := range d.Violations {
		if !strings.Contains(v.Message, "layer 1 of the linux/amd64 image") {
			t.Errorf("the message does not place the credential: %s", v.Message)
		}
	}
}

// The gate scores the image before the policies run: the score is in the
// input (schema-valid) and the decision, and max_score denies over it.
func TestRiskScoreGated(t *testing.T) {
	in := input(textFinding())
	d, seen, err := engine(t).Gate(context.Background(), in, WithNow(now))
	if err != nil {
		t.Fatal(err)
	}
	if d.Risk == nil || seen.Risk == nil || d.Risk.Score != seen.Risk.Score || d.Risk.Vulnerabilities == 0 || d.Risk.Formula != facts.RiskFormula {
		t.Fatalf("decision risk %+v, input risk %+v", d.Risk, seen.Risk)
	}
	raw, _ := facts.Encode(seen)
	if err := ValidateInput(raw); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "risk.yaml")
	os.WriteFile(data, []byte(fmt.Sprintf("settings:\n  risk:\n    max_score: %d\n", d.Risk.Score-1)), 0o644)
	d = gate(t, engine(t, WithDataFile(data)), input(textFinding()))
	if !strings.Contains(strings.Join(rules(d.Violations), ","), "SY-RISK-001") {
		t.Fatalf("a score over max_score: %v", rules(d.Violations))
	}
}

// Against a baseline's secrets report, each credential is new or known,
// the gone ones are listed, and the caller's input is not changed.
func TestBaselineSecrets(t *testing.T) {
	b := NewBaseline("registry.example.com/app@sha256:" + strings.Repeat("c", 64))
	b.AddSecrets(&facts.SecretsReport{Findings: []facts.SecretFinding{{Fingerprint: "/a:github-pat:1"}, {Fingerprint: "/gone:github-pat:1"}}})
	in := input()
	in.AddSecrets(&facts.SecretsReport{RuleSet: "gitleaks", Findings: []facts.SecretFinding{
		{Rule: "github-pat", File: "/a", Line: 1, Fingerprint: "/a:github-pat:1", Status: facts.SecretPresent},
		{Rule: "github-pat", File: "/b", Line: 1, Fingerprint: "/b:github-pat:1", Status: facts.SecretPresent},
	}})
	d, seen, err := engine(t).Gate(context.Background(), in, WithBaseline(b), WithNow(now))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.NewSecrets, ",") != "/b:github-pat:1" || strings.Join(d.FixedSecrets, ",") != "/gone:github-pat:1" {
		t.Fatalf("new %v, gone %v", d.NewSecrets, d.FixedSecrets)
	}
	if seen.Secrets.Findings[0].Baseline != "known" || seen.Secrets.Findings[1].Baseline != "new" || in.Secrets.Findings[0].Baseline != "" {
		t.Fatalf("statuses %+v; the caller's input %+v", seen.Secrets.Findings, in.Secrets.Findings)
	}
	raw, _ := facts.Encode(seen)
	if err := ValidateInput(raw); err != nil {
		t.Fatal(err)
	}
}
