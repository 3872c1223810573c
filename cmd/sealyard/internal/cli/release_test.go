package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sealyard/sealyard/internal/testutil/plant"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
)

// TestMakeRelease runs make release against the local registry: sealyard
// builds, gates, signs and attests its own image, builds its CLI binary and
// attests the checksums. One sealyard verify accepts the release; the
// stock cosign CLI verifies the checksums statement, whose digest is the
// binary's; the binary runs and names its version; no password is in any
// file written.
//
// The release script builds with go1.27.3 by default. The test builds with
// the machine's Go (its packages are the ones the tests already compiled),
// whose standard library has advisories fixed only in later Go releases:
// an exception for the package stdlib, with an owner, a reason and an
// expiry 30 days out, stands for that difference, and the decision lists
// it.
func TestMakeRelease(t *testing.T) {
	s := newSigning(t)
	out := filepath.Join(t.TempDir(), "dist")
	exceptions := filepath.Join(t.TempDir(), "exceptions.yaml")
	expires := time.Now().AddDate(0, 0, 30).Format("2006-01-02")
	os.WriteFile(exceptions, []byte("exceptions:\n  - package: stdlib\n    reason: the release test builds with the machine's Go; make release uses go1.27.3\n    owner: release-test\n    expires: "+expires+"\n"), 0o644)
	cmd := exec.Command("make", "--no-print-directory", "release")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(),
		"RELEASE_TO="+s.reg.Host+"/sealyard:v0.0.0-test",
		"RELEASE_KEY="+s.priv,
		"RELEASE_PLATFORMS=linux/amd64",
		"RELEASE_GOTOOLCHAIN=local",
		"RELEASE_OUT="+out,
		"RELEASE_ARGS=--ca-file "+s.reg.CAFile+" --username "+s.reg.Username+" --skip-tlog-unsafe",
		"RELEASE_RUN_ARGS=--exceptions "+exceptions+" --db "+vulnfixture.DBDir(t)+" --db-max-age 0",
		"SEALYARD_REGISTRY_PASSWORD="+s.reg.Password,
		"COSIGN_PASSWORD="+s.password,
	)
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make release: %v\n%s", err, output)
	}
	ref := strings.TrimSpace(string(mustRead(t, filepath.Join(out, "release.txt"))))
	if !strings.HasPrefix(ref, s.reg.Host+"/sealyard@sha256:") {
		t.Fatalf("released %q", ref)
	}

	// Verifying a release is one command.
	s.sealyard(t, "verify", ref, "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom,vuln,provenance,decision").mustSucceed(t)

	// The checksums statement, verified by stock cosign, names the binary
	// by its digest.
	bin := filepath.Join(out, "bin", "sealyard-linux-amd64")
	sum := sha256.Sum256(mustRead(t, bin))
	st := s.attested(t, "https://sealyard.dev/attestations/release-checksums/v1", ref)
	var checksums struct {
		Version  string
		Binaries []struct{ Name, SHA256 string }
	}
	json.Unmarshal(st.Predicate, &checksums)
	if checksums.Version != "v0.0.0-test" || len(checksums.Binaries) != 1 || checksums.Binaries[0].Name != "sealyard-linux-amd64" || checksums.Binaries[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("checksums %+v, want sealyard-linux-amd64 %x", checksums, sum)
	}
	if !strings.Contains(string(mustRead(t, filepath.Join(out, "checksums.txt"))), hex.EncodeToString(sum[:])+"  sealyard-linux-amd64") {
		t.Fatal("checksums.txt does not hold the binary's digest")
	}

	// The decision waived only the standard library, and says so.
	var d struct {
		Decision   string
		Exceptions []struct{ Selector string }
	}
	json.Unmarshal(mustRead(t, filepath.Join(out, "report", "decision.json")), &d)
	if d.Decision != "allow" {
		t.Fatalf("decision %+v", d)
	}
	for _, e := range d.Exceptions {
		if !strings.Contains(e.Selector, "stdlib") {
			t.Errorf("an exception other than the standard library's applied: %s", e.Selector)
		}
	}

	// The released binary runs and names its version.
	v, err := exec.Command(bin, "version", "-o", "json").CombinedOutput()
	if err != nil || !strings.Contains(string(v), `"v0.0.0-test"`) {
		t.Fatalf("the released binary: %v\n%s", err, v)
	}
	plant.AssertAbsentInDir(t, out, s.reg.Password, s.password)
}
