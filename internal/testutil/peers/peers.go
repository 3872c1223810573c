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
)

// Tool is a Go command to build.
type Tool struct {
	Module, Package string
}

// Version is the version of the tool's module in sealyard's go.mod.
func (tl Tool) Version(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", tl.Module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", tl.Module, err)
	}
	return strings.TrimSpace(string(out))
}

// Path builds the tool (once per module graph) and returns the binary.
func (tl Tool) Path(t testing.TB) string {
	t.Helper()
	key := fixturecache.Key("peer-v2", tl.Package, tl.Version(t), graphDigest(t), runtime.Version())
	name := path.Base(tl.Package)
	dir := fixturecache.Dir(t, "peer-"+name, key, func(dir string) error {
		// From the test's package directory, inside sealyard's module: the
		// build uses sealyard's go.mod, go.sum and build cache.
		// Same flags as the tests' builds, so the packages compiled for
		// one are reused by the other.
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), tl.Package)
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
