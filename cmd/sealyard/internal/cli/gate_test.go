package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
)

type gateFixture struct {
	ref    string
	digest string
	dir    string
}

func newGateFixture(t *testing.T) gateFixture {
	t.Helper()
	dir := t.TempDir()
	img := vulnfixture.GateImage(t)
	layout := filepath.Join(dir, "layout")
	if err := image.Write(context.Background(), img, "oci-dir:"+layout); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return gateFixture{ref: "oci-dir:" + layout, digest: d.String(), dir: dir}
}

func (g gateFixture) write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(g.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (g gateFixture) gate(t *testing.T, extra ...string) (result, *policy.Decision) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "decision.json")
	args := append([]string{"gate", g.ref, "-o", "table", "-o", "json=" + out}, dbArgs(t)...)
	r := run(t, "", nil, append(args, extra...)...)
	var d policy.Decision
	if data, err := os.ReadFile(out); err == nil {
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
	}
	return r, &d
}

// TestGateFixture is the gate's must-show on the vulnerable fixture image.
func TestGateFixture(t *testing.T) {
	g := newGateFixture(t)

	r, d := g.gate(t)
	if r.code != ExitDenied || d.Decision != "deny" {
		t.Fatalf("exit %d, decision %q\n%s%s", r.code, d.Decision, r.stdout, r.stderr)
	}
	if len(d.Violations) != 1 || !strings.Contains(d.Violations[0].Message, "upgrade golang.org/x/text from 0.3.5 to 0.3.7 (GO-2021-0113") {
		t.Fatalf("violations %+v", d.Violations)
	}
	if !strings.Contains(r.stdout, "GO-2021-0113") {
		t.Fatalf("the table does not name GO-2021-0113:\n%s", r.stdout)
	}

	exceptions := func(expires string) string {
		return g.write(t, "exceptions-"+expires+".yaml", `exceptions:
  - id: EXC-7
    vulnerability: GO-2021-0113
    package: golang.org/x/text
    reason: language tags come from our own configuration, never from users
    owner: payments-team@example.com
    expires: `+expires+"\n")
	}
	r, d = g.gate(t, "--exceptions", exceptions("2999-12-31"))
	if r.code != ExitOK || d.Decision != "allow" || len(d.Exceptions) != 1 || d.Exceptions[0].ID != "EXC-7" {
		t.Fatalf("with an exception: exit %d %+v\n%s", r.code, d.Exceptions, r.stdout)
	}
	r, d = g.gate(t, "--exceptions", exceptions("2020-01-31"))
	if r.code != ExitDenied || !strings.Contains(r.stdout, "owned by payments-team@example.com expired on 2020-01-31") {
		t.Fatalf("with the exception expired: exit %d\n%s", r.code, r.stdout)
	}

	vex := g.write(t, "app.openvex.json", `{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/greeter-1",
  "author": "Payments Security",
  "timestamp": "2026-11-20T10:00:00Z",
  "version": 1,
  "statements": [{
    "vulnerability": {"name": "GO-2021-0113", "aliases": ["CVE-2021-38561"]},
    "products": [{"@id": "`+g.digest+`", "subcomponents": [{"@id": "pkg:golang/golang.org/x/text@v0.3.5"}]}],
    "status": "not_affected",
    "justification": "vulnerable_code_cannot_be_controlled_by_adversary",
    "impact_statement": "language.Parse only sees tags from our configuration"
  }]
}`)
	r, d = g.gate(t, "--vex", vex)
	if r.code != ExitOK || len(d.VEX) != 1 || d.VEX[0].Justification != "vulnerable_code_cannot_be_controlled_by_adversary" {
		t.Fatalf("with VEX: exit %d %+v\n%s", r.code, d.VEX, r.stdout)
	}
}

func TestGateDecisionIsStable(t *testing.T) {
	g := newGateFixture(t)
	var docs []string
	for i := 0; i < 2; i++ {
		out := filepath.Join(t.TempDir(), "d.json")
		run(t, "", nil, append([]string{"gate", g.ref, "-o", "json=" + out}, dbArgs(t)...)...)
		docs = append(docs, string(mustRead(t, out)))
	}
	if docs[0] != docs[1] || !strings.Contains(docs[0], `"input": "sha256:`) {
		t.Fatal("two gate runs over the same image, database and policy gave different decisions")
	}
}

func TestGatePrecomputed(t *testing.T) {
	g := newGateFixture(t)
	dir := t.TempDir()
	sbomFile, scanFile, cfgFile := filepath.Join(dir, "s.syft.json"), filepath.Join(dir, "f.json"), filepath.Join(dir, "config.json")
	run(t, "", nil, "sbom", g.ref, "-o", "syft-json="+sbomFile).mustSucceed(t)
	run(t, "", nil, append([]string{"scan", "sbom:" + sbomFile, "-o", "json=" + scanFile}, dbArgs(t)...)...).mustSucceed(t)
	l, err := image.Load(context.Background(), g.ref)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := l.Artifact.(v1.Image).RawConfigFile()
	os.WriteFile(cfgFile, raw, 0o644)
	r := run(t, "", nil, "gate", "--sbom", sbomFile, "--scan", scanFile, "--image-config", cfgFile, "--image-ref", "registry.example.com/app:v1", "--image-digest", g.digest)
	if r.code != ExitDenied || !strings.Contains(r.stdout, "upgrade golang.org/x/text from 0.3.5 to 0.3.7") {
		t.Fatalf("precomputed gate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestGateBrokenInputs(t *testing.T) {
	g := newGateFixture(t)
	badRego := filepath.Join(t.TempDir(), "policies")
	os.MkdirAll(badRego, 0o755)
	os.WriteFile(filepath.Join(badRego, "team.rego"), []byte("package sealyard.team\n\nimport rego.v1\n\ndeny contains msg if {\n\tmsg := \"x\"\n\t1 ==\n}\n"), 0o644)
	noOwner := g.write(t, "no-owner.yaml", "exceptions:\n  - vulnerability: GO-2021-0113\n    reason: r\n    expires: 2999-01-01\n")
	notVEX := g.write(t, "sbom-not-vex.json", `{"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1}`)
	badFindings := g.write(t, "bad-findings.json", `{"schemaVersion": "sealyard.dev/findings/v1", "findings": [{"id": "GO-1", "aliases": [], "severity": "Apocalyptic", "fix": {"state": "fixed", "versions": []}, "package": {"name": "x", "version": "1", "type": "go-module"}, "reachable": null, "locations": []}], "db": {"digest": ""}}`)
	cfg := g.write(t, "config.json", `{"architecture": "amd64", "os": "linux", "config": {"User": "65532"}, "rootfs": {"type": "layers", "diff_ids": []}}`)
	// A copy of the image whose config blob was edited after the fact: the
	// same bytes but for the architecture, so only the digest tells.
	tampered := filepath.Join(t.TempDir(), "tampered")
	os.CopyFS(tampered, os.DirFS(strings.TrimPrefix(g.ref, "oci-dir:")))
	blobs, _ := filepath.Glob(filepath.Join(tampered, "blobs", "sha256", "*"))
	edited := 0
	for _, b := range blobs {
		data, _ := os.ReadFile(b)
		if bytes.Contains(data, []byte(`"rootfs"`)) && bytes.Contains(data, []byte(`"architecture":"amd64"`)) {
			os.WriteFile(b, bytes.Replace(data, []byte(`"architecture":"amd64"`), []byte(`"architecture":"arm64"`), 1), 0o644)
			edited++
		}
	}
	if edited != 1 {
		t.Fatalf("edited %d config blobs", edited)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"config blob edited after the fact", append([]string{"gate", "oci-dir:" + tampered}, dbArgs(t)...), "config blob sha256:"},
		{"invalid Rego", append([]string{"gate", g.ref, "--policy", badRego}, dbArgs(t)...), "team.rego:8"},
		{"exception without owner", append([]string{"gate", g.ref, "--exceptions", noOwner}, dbArgs(t)...), "missing owner"},
		{"VEX that is not OpenVEX", append([]string{"gate", g.ref, "--vex", notVEX}, dbArgs(t)...), "not OpenVEX"},
		{"input failing its schema", []string{"gate", "--scan", badFindings, "--image-config", cfg}, "does not match its schema"},
		{"bad gate mode", append([]string{"gate", g.ref, "--gate-mode", "lenient"}, dbArgs(t)...), "enforce or audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", nil, tt.args...)
			if r.code != ExitError || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

// TestFailOnUntriaged: with --fail-on-untriaged, every finding still
// present (no fix applied, no VEX statement) denies unless an exception
// covers it. A VEX document covering all but one finding leaves exactly
// that one in the decision; a VEX statement or an exception for it
// allows the image.
func TestFailOnUntriaged(t *testing.T) {
	g := newGateFixture(t)
	untriaged := func(d *policy.Decision) []facts.FindingRef {
		var out []facts.FindingRef
		for _, v := range d.Violations {
			if v.Rule == "SY-VULN-005" {
				out = append(out, v.Findings...)
			}
		}
		return out
	}
	if r := run(t, "", nil, append([]string{"gate", g.ref, "--fail-on-untriaged", "hgih"}, dbArgs(t)...)...); r.code != ExitError || !strings.Contains(r.stderr, "--fail-on-untriaged") {
		t.Fatalf("a misspelt severity: exit %d %s", r.code, r.stderr)
	}
	_, d := g.gate(t, "--fail-on-untriaged", "unknown")
	all := untriaged(d)
	if len(all) < 2 {
		t.Fatalf("%d untriaged findings in the fixture, want several: %+v", len(all), d.Violations)
	}
	// A VEX document for every finding but the last.
	vexFor := func(name string, refs []facts.FindingRef) string {
		var stmts []string
		for _, f := range refs {
			stmts = append(stmts, fmt.Sprintf(`{"vulnerability": {"name": %q}, "products": [{"@id": %q, "subcomponents": [{"@id": %q}]}],
    "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}`, f.ID, g.digest, f.PURL))
		}
		return g.write(t, name, `{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/`+name+`",
  "author": "Payments Security", "timestamp": "2026-11-20T10:00:00Z", "version": 1,
  "statements": [`+strings.Join(stmts, ",\n")+`]}`)
	}
	last := all[len(all)-1]
	most := vexFor("most.openvex.json", all[:len(all)-1])
	r, d := g.gate(t, "--fail-on-untriaged", "unknown", "--vex", most)
	left := untriaged(d)
	if r.code != ExitDenied || len(left) != 1 || left[0].ID != last.ID {
		t.Fatalf("with all but %s triaged: exit %d, untriaged %+v\n%s", last.ID, r.code, left, r.stdout)
	}
	if last.ID != "GO-2021-0113" && !strings.Contains(r.stdout, last.ID) {
		t.Fatalf("the table does not name the untriaged %s:\n%s", last.ID, r.stdout)
	}
	// The last one by VEX, or by an exception naming it.
	if r, d := g.gate(t, "--fail-on-untriaged", "unknown", "--vex", most, "--vex", vexFor("last.openvex.json", []facts.FindingRef{last})); r.code != ExitOK || len(untriaged(d)) != 0 {
		t.Fatalf("with every finding under VEX: exit %d %+v", r.code, d.Violations)
	}
	exc := g.write(t, "last.yaml", fmt.Sprintf(`exceptions:
  - id: EXC-2
    vulnerability: %s
    reason: reviewed
    owner: payments-team@example.com
    expires: 2999-12-31
`, last.ID))
	if r, d := g.gate(t, "--fail-on-untriaged", "unknown", "--vex", most, "--exceptions", exc); r.code != ExitOK || len(untriaged(d)) != 0 {
		t.Fatalf("with the last under an exception: exit %d %+v", r.code, d.Violations)
	}
}
