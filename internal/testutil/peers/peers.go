// Package peers builds the command-line tools sealyard is measured and
// checked against (syft, grype, cosign, crane) from the libraries sealyard
// links: go build inside sealyard's own module graph (go.mod lists them as
// tools), so they share compiled packages with sealyard and a cold test run
// compiles each dependency once. The binaries are cached by the module
// graph (go.mod and go.sum) and the Go version.
package peers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/fixturecache"
)

// The tools, by main package and the module whose version they follow.
var (
	Syft   = Tool{Module: "github.com/anchore/syft", Package: "github.com/anchore/syft/cmd/syft"}
	Grype  = Tool{Module: "github.com/anchore/grype", Package: "github.com/anchore/grype/cmd/grype"}
	Cosign = Tool{Module: "github.com/sigstore/cosign/v2", Package: "github.com/sigstore/cosign/v2/cmd/cosign"}
	Crane  = Tool{Module: "github.com/google/go-containerregistry", Package: "github.com/google/go-containerregistry/cmd/crane"}
	// Gitleaks is the CLI of the rules sealyard secrets uses: the same
	// files must give the same fingerprints.
	Gitleaks = Tool{Module: "github.com/zricethezav/gitleaks/v8", Package: "github.com/zricethezav/gitleaks/v8"}

	// Trivy is measured against (make bench), not linked: it is built
	// in its own module graph at a pinned version (its JSON code needs
	// GOEXPERIMENT=jsonv2).
	Trivy = Tool{Module: "github.com/aquasecurity/trivy", Package: "github.com/aquasecurity/trivy/cmd/trivy",
		Pinned: "v0.74.0", Env: []string{"GOEXPERIMENT=jsonv2"}}
)

// Tool is a Go command to build.
type Tool struct {
	Module, Package string
	// Pinned, when set, is the version to go install outside sealyard's
	// module graph, with Env added to the environment.
	Pinned string
	Env    []string
}

// Version is the version of the tool's module in sealyard's go.mod.
func (tl Tool) Version(t testing.TB) string {
	t.Helper()
	if tl.Pinned != "" {
		return tl.Pinned
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", tl.Module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", tl.Module, err)
	}
	return strings.TrimSpace(string(out))
}

// Path builds the tool (once per module graph) and returns the binary.
func (tl Tool) Path(t testing.TB) string {
	t.Helper()
	name := path.Base(tl.Package)
	if tl.Pinned != "" {
		key := fixturecache.Key("peer-v1", tl.Package, tl.Pinned, strings.Join(tl.Env, " "), runtime.Version())
		dir := fixturecache.Dir(t, "peer-"+name, key, func(dir string) error {
			cmd := exec.Command("go", "install", tl.Package+"@"+tl.Pinned)
			cmd.Env = append(append(os.Environ(), "GOBIN="+dir, "GOFLAGS="), tl.Env...)
			cmd.Dir = os.TempDir()
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go install %s@%s: %v\n%s", tl.Package, tl.Pinned, err, out)
			}
			return nil
		})
		return filepath.Join(dir, name)
	}
	key := fixturecache.Key("peer-v3", tl.Package, tl.Version(t), graphDigest(t), runtime.Version())
	dir := fixturecache.Dir(t, "peer-"+name, key, func(dir string) error {
		// From the test's package directory, inside sealyard's module: the
		// build uses sealyard's go.mod, go.sum and build cache.
		// The flags of every build make test does (-trimpath,
		// CGO_ENABLED=0: sealyard's own, the tests', the fixtures'), so
		// the packages compiled for one are reused by the others.
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, name), tl.Package)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", tl.Package, err, out)
		}
		return nil
	})
	return filepath.Join(dir, name)
}

// graphDigest hashes sealyard's go.mod and go.sum: what decides the
// versions a tool is built from.
func graphDigest(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	h := sha256.New()
	for _, f := range []string{mod, filepath.Join(filepath.Dir(mod), "go.sum")} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))
}
