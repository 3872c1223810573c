// Package vulnfixture assembles the images the SBOM, scan and gate tests
// judge sealyard on: real Debian packages (with their dpkg status) and Go
// programs built against old modules with published advisories, plus a
// vulnerability database built from the pinned Go vulnerability database.
package vulnfixture

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/sealyard/sealyard/internal/testutil/debian"
	"github.com/sealyard/sealyard/internal/testutil/fixturecache"
	"github.com/sealyard/sealyard/internal/testutil/goprog"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// Fixture is a test image and what went into it.
type Fixture struct {
	// Image is the image (linux/amd64).
	Image v1.Image
	// Binaries maps program name to the binary on the host.
	Binaries map[string]string
	// Rootfs is the Debian root filesystem under the programs.
	Rootfs string
}

// Programs are the Go programs in the fixture image.
var Programs = []goprog.Program{goprog.TextParse, goprog.NetHTML, goprog.Stripped(goprog.TextParse)}

// Image builds the fixture image: a Debian layer and a layer with the Go
// programs in /usr/local/bin.
func Image(t testing.TB) *Fixture {
	t.Helper()
	f := &Fixture{Binaries: map[string]string{}, Rootfs: debian.Rootfs(t, debian.SmallBase...)}
	bins := t.TempDir()
	for _, p := range Programs {
		src := goprog.Build(t, p, "amd64")
		f.Binaries[p.Name] = src
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bins, p.Name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	a, err := build.Build(context.Background(),
		[]build.Source{build.Directory(f.Rootfs, "/"), build.Directory(bins, "/usr/local/bin")},
		build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "amd64"}),
		build.WithUser("65532"),
		build.WithCreated(time.Unix(1700000000, 0)),
		build.WithEntrypoint("/usr/local/bin/textparse"),
	)
	if err != nil {
		t.Fatal(err)
	}
	f.Image = a.(v1.Image)
	return f
}

// GateProgram is TextParse built with go1.27.3: its only reachable
// advisory with a fix is GO-2021-0113 (golang.org/x/text/language.Parse),
// so the gate's exception and VEX paths can turn a deny into an allow.
var GateProgram = goprog.WithToolchain(goprog.TextParse, "go1.27.3")

// GateImage is an image holding GateProgram as its entrypoint, running as
// a non-root user.
func GateImage(t testing.TB) v1.Image {
	t.Helper()
	bins := t.TempDir()
	data, err := os.ReadFile(goprog.Build(t, GateProgram, "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bins, "textparse"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := build.Build(context.Background(),
		[]build.Source{build.Directory(bins, "/usr/local/bin")},
		build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "amd64"}),
		build.WithCreated(time.Unix(1700000000, 0)),
		build.WithEntrypoint("/usr/local/bin/textparse"),
	)
	if err != nil {
		t.Fatal(err)
	}
	return a.(v1.Image)
}

// OSVDir returns the pinned Go vulnerability database's OSV folder.
func OSVDir(t testing.TB) string {
	t.Helper()
	dir, err := vulndb.FetchGoVulnDB(context.Background(), vulndb.GoVulnDBVersion)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// DBDir returns a database root built from the pinned Go vulnerability
// database, cached across test runs by the database version and the grype
// builder version. Open it with vulndb.WithoutAgeCheckUnsafe: a cached
// database may be older than the default limit.
func DBDir(t testing.TB) string {
	t.Helper()
	osv := OSVDir(t)
	key := fixturecache.Key("sealyard-db-v1", vulndb.GoVulnDBVersion, grypeVersion(), runtime.Version())
	return fixturecache.Dir(t, "grype-db", key, func(dir string) error {
		_, err := vulndb.Build(context.Background(), []string{osv}, dir)
		return err
	})
}

// OpenDB opens DBDir.
func OpenDB(t testing.TB) *vulndb.DB {
	t.Helper()
	db, err := vulndb.Open(DBDir(t), vulndb.WithoutAgeCheckUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// grypeVersion is the grype module version the tests are built with.
func grypeVersion() string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/anchore/grype").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// Planted credentials of SecretImage.
const (
	// SecretLabelValue is an AWS access key id in a label value.
	SecretLabelValue = "AKIA" + "ZXCVBNMASDFGHJKL"
	// SecretEnvValue is the value of DB_PASSWORD in the environment.
	SecretEnvValue = "hunter2-" + "db-pw-31337"
)

// SecretImage is GateImage with credentials in its config: a label whose
// value is SecretLabelValue (beside a harmless team=payments label), the
// variable DB_PASSWORD=SecretEnvValue, and the history entry that set it.
func SecretImage(t testing.TB) v1.Image {
	t.Helper()
	img := GateImage(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Labels = map[string]string{"build.note": SecretLabelValue, "team": "payments"}
	cf.Config.Env = append(cf.Config.Env, "DB_PASSWORD="+SecretEnvValue)
	cf.History = append(cf.History, v1.History{CreatedBy: "/bin/sh -c #(nop) ENV DB_PASSWORD=" + SecretEnvValue})
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
