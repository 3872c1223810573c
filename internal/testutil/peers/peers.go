// Package peers installs the command-line tools sealyard is measured and
// checked against (syft, grype, cosign, crane) at the versions of the
// libraries sealyard links, with go install, cached by version.
package peers

import (
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

// Tool is a Go command to install.
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

// Path installs the tool (once per version) and returns the binary.
func (tl Tool) Path(t testing.TB) string {
	t.Helper()
	v := tl.Version(t)
	key := fixturecache.Key("peer-v1", tl.Package, v, runtime.Version())
	dir := fixturecache.Dir(t, "peer-"+path.Base(tl.Package), key, func(dir string) error {
		cmd := exec.Command("go", "install", tl.Package+"@"+v)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
		cmd.Dir = os.TempDir()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go install %s@%s: %v\n%s", tl.Package, v, err, out)
		}
		return nil
	})
	return filepath.Join(dir, path.Base(tl.Package))
}
