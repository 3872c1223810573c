package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
)

func gateLayout(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	if err := image.Write(context.Background(), vulnfixture.GateImage(t), "oci-dir:"+dir); err != nil {
		t.Fatal(err)
	}
	return "oci-dir:" + dir
}

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets(strings.NewReader("# images\noci-dir:a r.example/a:v1\n\n  oci-dir:b   r.example/b:v1  \n"), "targets")
	if err != nil || len(ts) != 2 || ts[1] != (Target{"oci-dir:b", "r.example/b:v1"}) {
		t.Fatalf("%+v %v", ts, err)
	}
	for _, bad := range []string{"", "# nothing\n", "only-one-field\n", "a b c\n"} {
		if _, err := ParseTargets(strings.NewReader(bad), "targets"); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

// Many images in one run: each gets its own reports, a failing one does
// not stop the others, and the combined summary lists them all.
func TestRunTargets(t *testing.T) {
	f := setup(t)
	src := gateLayout(t)
	base := f.cfg
	base.OutDir = t.TempDir()
	base.GateOptions = []policy.GateOption{policy.WithMode(facts.Audit)}
	targets := []Target{
		{src, f.reg.Host + "/many-a:v1"},
		{"oci-archive:/nonexistent.tar", f.reg.Host + "/many-b:v1"},
		{src, f.reg.Host + "/many-c:v1"},
	}
	rs, err := RunTargets(context.Background(), base, targets, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Err != nil || rs[2].Err != nil || rs[1].Err == nil {
		t.Fatalf("errors %v, %v, %v", rs[0].Err, rs[1].Err, rs[2].Err)
	}
	for _, i := range []int{0, 2} {
		for _, file := range []string{"decision.json", "sbom-linux-amd64.cdx.json", "audit.jsonl", "summary.md"} {
			if _, err := os.Stat(filepath.Join(rs[i].OutDir, file)); err != nil {
				t.Fatalf("target %d: %v", i, err)
			}
		}
	}
	summary := string(mustRead(t, filepath.Join(base.OutDir, "summary.md")))
	if !strings.Contains(summary, "3 images, 2 allowed, 0 denied, 1 failed") || !strings.Contains(summary, "many-c:v1") {
		t.Fatalf("combined summary:\n%s", summary)
	}
}

// BenchmarkRunTargets runs sealyard run over 10 and over 50 images (two at
// a time) against the Distribution registry and reports images per second
// and the peak Go heap, sampled every 10 ms: the peak stays with the
// concurrency limit, not with the number of images.
func BenchmarkRunTargets(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			f := setup(b)
			src := gateLayout(b)
			base := f.cfg
			base.GateOptions = []policy.GateOption{policy.WithMode(facts.Audit)}
			var targets []Target
			for i := 0; i < n; i++ {
				targets = append(targets, Target{src, fmt.Sprintf("%s/bench%d:v1", f.reg.Host, i)})
			}
			var peak atomic.Uint64
			stop := make(chan struct{})
			go func() {
				var ms runtime.MemStats
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			}()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				base.OutDir = b.TempDir()
				rs, err := RunTargets(context.Background(), base, targets, 2)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range rs {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
			}
			elapsed := time.Since(start)
			close(stop)
			b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "images/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		})
	}
}
