package predicate

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/facts"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestStatementRoundTrip(t *testing.T) {
	d := name.MustParseReference("registry.example/app@" + testDigest).(name.Digest)
	raw, err := NewForPlatform(d, "linux/arm64", CycloneDX, json.RawMessage(`{"bomFormat":"CycloneDX"}`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if st.Type != StatementType || st.PredicateType != CycloneDX {
		t.Fatalf("statement %s", raw)
	}
	if !st.About(testDigest) || st.About("sha256:"+strings.Repeat("f", 64)) {
		t.Fatalf("About is wrong for %v", st.SubjectDigests())
	}
	if st.Platform() != "linux/arm64" {
		t.Fatalf("platform %q, want linux/arm64", st.Platform())
	}
	if st.Subject[0].Name != "registry.example/app" {
		t.Fatalf("subject name %q", st.Subject[0].Name)
	}

	whole, err := New(d, VSA, json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(whole), "annotations") {
		t.Fatalf("a statement about the whole image carries annotations: %s", whole)
	}
	if st, _ := Parse(whole); st.Platform() != "" {
		t.Fatalf("platform %q on a statement about the whole image", st.Platform())
	}
}

func TestStatementRejects(t *testing.T) {
	d := name.MustParseReference("registry.example/app@" + testDigest).(name.Digest)
	if _, err := New(d, CycloneDX, json.RawMessage(`{not json`)); err == nil {
		t.Fatal("a predicate that is not JSON made a statement")
	}
	for _, bad := range []string{`not json`, `{"_type":"https://example.com/other"}`, `[]`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Fatalf("Parse(%s) succeeded", bad)
		}
	}
	if _, err := Parse([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"x","subject":[]}`)); err != nil {
		t.Fatalf("cosign's v0.1 statements are refused: %v", err)
	}
}

func TestParseType(t *testing.T) {
	for in, want := range map[string]string{"cyclonedx": CycloneDX, "SPDXJSON": SPDX, "vuln": Vuln, "vsa": VSA, "https://example.com/p": "https://example.com/p"} {
		if got, err := ParseType(in); err != nil || got != want {
			t.Fatalf("ParseType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseType("sbom"); err == nil || !strings.Contains(err.Error(), "cyclonedx") {
		t.Fatalf("an unknown type gave %v, want an error listing the known ones", err)
	}
}

func TestVulnRoundTrip(t *testing.T) {
	rep := &facts.Report{DB: facts.DB{SchemaVersion: "v6.1.0", Digest: "sha256:abc"}, Findings: []facts.Finding{{ID: "GO-2021-0113"}}}
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	raw, err := NewVuln(rep, "1.0.0", "https://ci.example/run/1", "https://ci.example/builder", started, started.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var p VulnPredicate
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Scanner.DB.Version != "sha256:abc" || p.Metadata.ScanStartedOn.Location() != time.UTC || p.Invocation.URI != "https://ci.example/run/1" {
		t.Fatalf("predicate %s", raw)
	}
	back, err := Findings(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != 1 || back.Findings[0].ID != "GO-2021-0113" {
		t.Fatalf("findings came back as %+v", back.Findings)
	}
}

func TestVSA(t *testing.T) {
	for _, tc := range []struct {
		in     DecisionInput
		result string
		levels []string
	}{
		{DecisionInput{Passed: true, PolicyDigest: "sha256:aa"}, "PASSED", []string{"SEALYARD_GATE_PASSED"}},
		{DecisionInput{Passed: false, Violations: []string{"SY-VULN-001"}}, "FAILED", []string{"SEALYARD_GATE_FAILED", "SEALYARD_VIOLATION_SY_VULN_001"}},
		{DecisionInput{Passed: true, Audit: true, Violations: []string{"SY-VULN-001"}}, "PASSED", []string{"SEALYARD_GATE_PASSED", "SEALYARD_GATE_AUDIT_ONLY", "SEALYARD_VIOLATION_SY_VULN_001"}},
		{DecisionInput{Passed: true, Risk: &facts.Risk{Score: 436, Band: "high"}}, "PASSED", []string{"SEALYARD_GATE_PASSED", "SEALYARD_RISK_HIGH", "SEALYARD_RISK_SCORE_436"}},
	} {
		raw, err := NewVSA(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var v VerificationSummary
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		if v.VerificationResult != tc.result || strings.Join(v.VerifiedLevels, ",") != strings.Join(tc.levels, ",") {
			t.Fatalf("%+v gave %s %v", tc.in, v.VerificationResult, v.VerifiedLevels)
		}
		if tc.in.PolicyDigest != "" && v.Policy.Digest["sha256"] != "aa" {
			t.Fatalf("policy digest %v", v.Policy.Digest)
		}
	}
}

func TestProvenance(t *testing.T) {
	raw, err := NewProvenance(ProvenanceInput{
		Source: "./cmd/app", Platforms: []string{"linux/amd64"},
		Info:     cienv.Info{System: cienv.GitHubActions, RepoURL: "https://github.com/o/r", Commit: "deadbeef", Ref: "refs/heads/main", BuilderID: "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main"},
		BaseName: "registry:debian:12", BaseDigest: testDigest,
	})
	if err != nil {
		t.Fatal(err)
	}
	var p Provenance
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	deps := p.BuildDefinition.ResolvedDependencies
	if len(deps) != 2 || deps[0].URI != "git+https://github.com/o/r@refs/heads/main" || deps[0].Digest["gitCommit"] != "deadbeef" {
		t.Fatalf("dependencies %+v", deps)
	}
	if deps[1].URI != "oci://debian:12" || deps[1].Digest["sha256"] != strings.TrimPrefix(testDigest, "sha256:") {
		t.Fatalf("base image %+v", deps[1])
	}
	if p.RunDetails.Builder.ID == "" || p.BuildDefinition.BuildType != BuildType {
		t.Fatalf("provenance %s", raw)
	}
}
