package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/schemas"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
)

// TestDemo runs what make demo runs (with the tests' cached database): the
// vulnerable build is denied and never reaches the registry, the fixed one
// ends verified.
func TestDemo(t *testing.T) {
	out := t.TempDir()
	r := run(t, "", nil, "demo", "--source", filepath.Join(repoRoot(t), "examples", "greeter"),
		"--out", out, "--db", vulnfixture.DBDir(t), "--progress", "plain").mustSucceed(t)
	for _, want := range []string{"denied:", "(never pushed)", "verified:", "greeter:fixed@sha256:"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, want := range []string{"upgrade golang.org/x/text from 0.3.5", "the registry holds no repository", "verified: 1 signature(s)"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("demo log lacks %q:\n%s", want, r.stderr)
		}
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(out, "vulnerable", "decision.json"))), `"decision": "deny"`) ||
		!strings.Contains(string(mustRead(t, filepath.Join(out, "fixed", "decision.json"))), `"decision": "allow"`) {
		t.Fatal("the decisions on disk are not deny then allow")
	}
	// One line for the Go toolchain upgrade, with the advisories it clears.
	var toolchain []string
	for _, line := range strings.Split(string(mustRead(t, filepath.Join(out, "vulnerable", "summary.md"))), "\n") {
		if strings.Contains(line, "`toolchain go") {
			toolchain = append(toolchain, line)
		}
	}
	if len(toolchain) != 1 {
		t.Fatalf("the summary has %d lines for the Go toolchain, want one:\n%s", len(toolchain), strings.Join(toolchain, "\n"))
	}
	if cells := strings.Split(toolchain[0], "|"); len(cells) < 4 || strings.TrimSpace(cells[2]) == "1" {
		t.Fatalf("the toolchain line does not clear several advisories: %s", toolchain[0])
	}
	t.Logf("the demo's toolchain line: %s", toolchain[0])
	schemas.Validate(t, schemas.SARIF, mustRead(t, filepath.Join(out, "vulnerable", "sealyard.sarif")))
	schemas.Validate(t, schemas.CycloneDX, mustRead(t, filepath.Join(out, "fixed", "sbom-linux-arm64.cdx.json")))
	// Only the public key is left behind.
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if strings.HasSuffix(p, ".key") {
			t.Errorf("the demo left a private key at %s", p)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(out, "cosign.pub")); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "", nil, "demo", "--source", t.TempDir(), "--db", vulnfixture.DBDir(t)); r.code != ExitError || !strings.Contains(r.stderr, "go.fixed.mod") {
		t.Fatalf("a source without go.fixed.mod: exit %d %q", r.code, r.stderr)
	}
}
