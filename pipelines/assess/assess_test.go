package assess

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/secrets"
)

func gate(t *testing.T, in policy.Input) *policy.Decision {
	t.Helper()
	e, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := e.Gate(context.Background(), in, policy.WithNow(time.Unix(1750000000, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// An image whose config names no OS or architecture (layers appended to
// an empty base, as crane append makes) is gated, with platform
// "unknown", instead of failing the input's own schema.
func TestImageWithoutPlatform(t *testing.T) {
	img := vulnfixture.GateImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "", "", ""
	bare, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Image(context.Background(), "registry.example.com/bare:v1", bare, vulnfixture.OpenDB(t), cienv.Info{System: cienv.Local}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Secrets != nil || sc.Input.Secrets != nil {
		t.Fatal("a secrets scan nobody asked for")
	}
	if got := strings.Join(sc.Input.Image.Platforms, ","); got != "unknown" {
		t.Fatalf("platforms %q, want unknown", got)
	}
	d := gate(t, sc.Input)
	if d.Decision != "deny" || len(d.Violations) == 0 {
		t.Fatalf("decision %s %+v; the image holds GO-2021-0113 and should be denied on it", d.Decision, d.Violations)
	}
	for _, v := range d.Violations {
		if v.Rule == "SY-SBOM-001" {
			t.Fatalf("the unknown platform's SBOM was not matched: %s", v.Message)
		}
	}
}

// In an index whose arm64 image runs as root, the gate names arm64, even
// though the amd64 image (listed first) runs as a user.
func TestIndexJudgedPerPlatform(t *testing.T) {
	amd := vulnfixture.GateImage(t)
	cf, _ := amd.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	cf.Config.User = ""
	arm, err := mutate.ConfigFile(amd, cf)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	sc, err := Image(context.Background(), "registry.example.com/multi:v1", idx, vulnfixture.OpenDB(t), cienv.Info{System: cienv.Local}, &secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Every layer of both platform images was read for credentials (the
	// gate image holds a program and directories: its files are skipped
	// as binaries, and counted).
	if sc.Input.Secrets == nil || !sc.Input.Secrets.Scanned || sc.Secrets.Scanned.Layers != 2 || sc.Secrets.Scanned.Skipped == 0 {
		t.Fatalf("secrets scan %+v", sc.Secrets)
	}
	d := gate(t, sc.Input)
	var root []string
	for _, v := range d.Violations {
		if v.Rule == "SY-IMG-001" {
			root = append(root, v.Message)
		}
	}
	if len(root) != 1 || !strings.Contains(root[0], "linux/arm64") {
		t.Fatalf("SY-IMG-001 violations %q, want one naming linux/arm64", root)
	}
}

// The gate's files mode takes an image's secrets report, and refuses a
// source tree's (its findings are not the image's) or anything else.
func TestFromFilesSecrets(t *testing.T) {
	cf, err := empty.Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err := mutate.ConfigFile(empty.Image, cf)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	report := func(kind string) []byte {
		b, _ := json.Marshal(facts.SecretsReport{Schema: facts.SecretsSchema, Kind: kind, RuleSet: "gitleaks", Findings: []facts.SecretFinding{
			{Rule: "github-pat", File: "/etc/a.env", Line: 1, Fingerprint: "/etc/a.env:github-pat:1", Status: facts.SecretDeleted},
		}})
		return b
	}
	in, err := FromFiles(Files{Config: raw, Secrets: report("image"), SecretsName: "secrets.json"}, cienv.Info{System: cienv.Local})
	if err != nil {
		t.Fatal(err)
	}
	if in.Secrets == nil || len(in.Secrets.Findings) != 1 || in.Secrets.Findings[0].Status != facts.SecretDeleted {
		t.Fatalf("input secrets %+v", in.Secrets)
	}
	for _, bad := range [][]byte{report("tree"), []byte(`{"schema":"other"}`), []byte("not json")} {
		if _, err := FromFiles(Files{Config: raw, Secrets: bad, SecretsName: "bad.json"}, cienv.Info{System: cienv.Local}); err == nil || !strings.Contains(err.Error(), "bad.json is not an image's secrets report") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
