package scan

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/internal/testutil/peers"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// BenchmarkSBOMAndScan times sealyard's SBOM and scan of the fixture image
// (read from an OCI layout, cataloged once, matched in process) against
// the chain users build from the CLIs at the same versions:
// syft IMAGE -o syft-json=FILE, then grype sbom:FILE, on the same image and
// database. It reports both times per operation and their ratio
// (sealyard / CLIs; below 1 is faster). Run it with make bench.
func BenchmarkSBOMAndScan(b *testing.B) {
	ctx := context.Background()
	fx := vulnfixture.Image(b)
	dbDir := vulnfixture.DBDir(b)
	layout := filepath.Join(b.TempDir(), "layout")
	if err := image.Write(ctx, fx.Image, "oci-dir:"+layout); err != nil {
		b.Fatal(err)
	}
	syft, grype := peers.Syft.Path(b), peers.Grype.Path(b)
	sbomFile := filepath.Join(b.TempDir(), "sbom.json")
	env := append(os.Environ(),
		"GRYPE_DB_CACHE_DIR="+dbDir, "GRYPE_DB_AUTO_UPDATE=false", "GRYPE_DB_VALIDATE_AGE=false",
		"GRYPE_CHECK_FOR_APP_UPDATE=false", "SYFT_CHECK_FOR_APP_UPDATE=false")
	runCLI := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	var ours, theirs time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		l, err := image.Load(ctx, "oci-dir:"+layout)
		if err != nil {
			b.Fatal(err)
		}
		doc, err := sbom.Generate(ctx, l.Artifact.(v1.Image))
		if err != nil {
			b.Fatal(err)
		}
		db, err := vulndb.Open(dbDir, vulndb.WithoutAgeCheckUnsafe())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Scan(ctx, FromDocument(doc), db); err != nil {
			b.Fatal(err)
		}
		db.Close()
		l.Close()
		ours += time.Since(start)

		start = time.Now()
		runCLI(syft, "oci-dir:"+layout, "-q", "-o", "syft-json="+sbomFile)
		runCLI(grype, "sbom:"+sbomFile, "-q", "-o", "json")
		theirs += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()/n, "sealyard-s/op")
	b.ReportMetric(theirs.Seconds()/n, "syft+grype-s/op")
	b.ReportMetric(ours.Seconds()/theirs.Seconds(), "ratio")
}
