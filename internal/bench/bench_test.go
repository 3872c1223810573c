package bench

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/internal/testutil/debian"
	"github.com/sealyard/sealyard/internal/testutil/distribution"
	"github.com/sealyard/sealyard/internal/testutil/fixturecache"
	"github.com/sealyard/sealyard/internal/testutil/peers"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/sign"
)

// basePackages are real Debian packages under the reference image's
// programs: enough for the dpkg cataloger to have work.
var basePackages = append([]string{"libc6", "libssl3", "openssl", "ca-certificates", "bash", "coreutils", "perl-base", "libsqlite3-0"}, debian.SmallBase...)

// baseAndPrograms returns what the bench images are made of, the Debian
// root and the peer programs, with the fixture key of an image made of
// them (keyParts first).
func baseAndPrograms(b *testing.B, tools []peers.Tool, keyParts ...string) (rootfs string, bins []string, key string) {
	b.Helper()
	parts := append(slices.Clone(keyParts), basePackages...)
	for _, tl := range tools {
		bins = append(bins, tl.Path(b))
		parts = append(parts, tl.Package, tl.Version(b))
	}
	return debian.Rootfs(b, basePackages...), bins, fixturecache.Key(parts...)
}

// referenceImage is a docker save tarball of a Debian base with four real
// Go programs (syft, grype, cosign, crane) in /usr/local/bin, cached by
// its inputs. It is well over 100 MB.
func referenceImage(b *testing.B) (string, int64) {
	b.Helper()
	rootfs, bins, key := baseAndPrograms(b, []peers.Tool{peers.Syft, peers.Grype, peers.Cosign, peers.Crane}, "bench-image-v1", runtime.Version())
	dir := fixturecache.Dir(b, "bench-image", key, func(dir string) error {
		binDir := filepath.Join(dir, "bin")
		if err := os.MkdirAll(binDir, 0o755); err != nil {
			return err
		}
		for _, bin := range bins {
			data, err := os.ReadFile(bin)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(binDir, filepath.Base(bin)), data, 0o755); err != nil {
				return err
			}
		}
		a, err := build.Build(context.Background(),
			[]build.Source{build.Directory(rootfs, "/"), build.Directory(binDir, "/usr/local/bin")},
			build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "amd64"}),
			build.WithCreated(time.Unix(1700000000, 0)),
			build.WithEntrypoint("/usr/local/bin/crane"))
		if err != nil {
			return err
		}
		if err := image.Write(context.Background(), a, "docker-archive:"+filepath.Join(dir, "image.tar")); err != nil {
			return err
		}
		return os.RemoveAll(binDir)
	})
	p := filepath.Join(dir, "image.tar")
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	if fi.Size() < 100<<20 {
		b.Fatalf("the reference image is %d MB; it must be 100 MB or more", fi.Size()>>20)
	}
	return p, fi.Size()
}

// buildSealyard builds the sealyard binary at path, with make test's
// flags (-trimpath, and CGO_ENABLED=0 from the Makefile), so that it
// reuses their build cache; the peers are built the same way.
func buildSealyard(b *testing.B, path string) {
	b.Helper()
	if out, err := exec.Command("go", "build", "-trimpath", "-o", path, "github.com/sealyard/sealyard/cmd/sealyard").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
}

// usage is what a process (or a chain of them) cost.
type usage struct {
	wall, cpu time.Duration
	peakRSS   int64 // bytes, of the heaviest single process
	heaviest  string
	steps     []string
	stepWall  map[string]time.Duration
}

func (u *usage) add(name string, wall time.Duration, ru *syscall.Rusage) {
	if u.stepWall == nil {
		u.stepWall = map[string]time.Duration{}
	}
	if _, ok := u.stepWall[name]; !ok {
		u.steps = append(u.steps, name)
	}
	u.stepWall[name] += wall
	u.wall += wall
	u.cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	if rss := ru.Maxrss * 1024; rss > u.peakRSS {
		u.peakRSS, u.heaviest = rss, name
	}
}

type env struct {
	vars  []string
	stdin string
}

// measure runs one command and returns its wall time and rusage. The
// command runs under GNU time, whose report gives its peak RSS: the
// rusage a parent reads for a child started the way os/exec starts it
// (vfork, then exec) counts the parent's own peak, so in Maxrss the
// benchmark process's memory would hide the command's.
func measure(b *testing.B, e env, name string, args ...string) (time.Duration, *syscall.Rusage, string) {
	b.Helper()
	gnuTime := "/usr/bin/time"
	if _, err := os.Stat(gnuTime); err != nil {
		b.Fatalf("make bench needs GNU time (apt-get install time) for peak memory: %v", err)
	}
	report, err := os.CreateTemp("", "sealyard-bench-rss-*")
	if err != nil {
		b.Fatal(err)
	}
	report.Close()
	defer os.Remove(report.Name())
	cmd := exec.Command(gnuTime, append([]string{"-f", "%M", "-o", report.Name(), name}, args...)...)
	cmd.Env = e.vars
	cmd.Stdin = strings.NewReader(e.stdin)
	var out strings.Builder
	cmd.Stdout = &out
	var errOut strings.Builder
	cmd.Stderr = &errOut
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), errOut.String())
	}
	wall := time.Since(start)
	ru := *cmd.ProcessState.SysUsage().(*syscall.Rusage)
	data, err := os.ReadFile(report.Name())
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Fields(string(data))
	if len(lines) == 0 {
		b.Fatalf("GNU time reported nothing for %s", name)
	}
	kb, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil {
		b.Fatalf("GNU time's report %q: %v", data, err)
	}
	ru.Maxrss = kb
	return wall, &ru, out.String()
}

// BenchmarkRunVsChain times sealyard run (build skipped: the source is the
// reference image) against syft → grype sbom: → crane push → cosign sign →
// cosign attest (CycloneDX) → cosign attest (vuln), on the same image,
// database and Distribution registry (TLS, auth), and prints wall time,
// CPU time and peak memory of both and their ratios. sealyard runs with
// --gate-mode audit so it always goes as far as the chain does, and it
// does more: SPDX too, provenance and decision attestations, reports.
func BenchmarkRunVsChain(b *testing.B) {
	img, size := referenceImage(b)
	dbDir := vulnfixture.DBDir(b)
	reg := distribution.Start(b)
	work := b.TempDir()
	priv, _, err := sign.GenerateKeyPair(filepath.Join(work, "cosign"), []byte("bench-password"))
	if err != nil {
		b.Fatal(err)
	}
	sealyard := filepath.Join(work, "sealyard")
	buildSealyard(b, sealyard)
	syft, grype, cosign, crane := peers.Syft.Path(b), peers.Grype.Path(b), peers.Cosign.Path(b), peers.Crane.Path(b)

	// The peers read registry credentials from a Docker config and trust
	// SSL_CERT_FILE; grype reads the same database sealyard does.
	dockerDir := filepath.Join(work, "docker")
	os.MkdirAll(dockerDir, 0o700)
	auth := base64.StdEncoding.EncodeToString([]byte(reg.Username + ":" + reg.Password))
	os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, reg.Host, auth)), 0o600)
	common := slices.Clip(append(os.Environ(), "COSIGN_PASSWORD=bench-password", "SOURCE_DATE_EPOCH=1700000000"))
	peerEnv := env{vars: append(common, "DOCKER_CONFIG="+dockerDir, "SSL_CERT_FILE="+reg.CAFile,
		"GRYPE_DB_CACHE_DIR="+dbDir, "GRYPE_DB_AUTO_UPDATE=false", "GRYPE_DB_VALIDATE_AGE=false",
		"GRYPE_CHECK_FOR_APP_UPDATE=false", "SYFT_CHECK_FOR_APP_UPDATE=false",
		"TUF_ROOT="+filepath.Join(work, "tuf"), "SIGSTORE_NO_CACHE=true")}
	ourEnv := env{vars: append(common, "DOCKER_CONFIG="+filepath.Join(work, "none")), stdin: reg.Password}

	// Warm the page cache, so neither side pays for the first read.
	if data, err := os.ReadFile(img); err == nil {
		_ = data
	}

	var ours, chain usage
	var profile string
	for i := 0; i < b.N; i++ {
		// sealyard run, profiled on the first iteration.
		out := filepath.Join(work, fmt.Sprintf("out-%d", i))
		args := []string{"run", "docker-archive:" + img, "--to", fmt.Sprintf("%s/sealyard-%d:v1", reg.Host, i),
			"--key", priv, "--skip-tlog-unsafe", "--db", dbDir, "--db-max-age", "0", "--gate-mode", "audit",
			"--out", out, "--progress", "quiet", "--ca-file", reg.CAFile, "--username", reg.Username, "--password-stdin"}
		if i == 0 {
			profile = filepath.Join(work, "sealyard.cpu.pprof")
			args = append(args, "--cpuprofile", profile)
		}
		wall, ru, _ := measure(b, ourEnv, sealyard, args...)
		ours.add("sealyard run", wall, ru)

		// The chain, one process after another, as a CI script runs it.
		sbomFile, vulnFile := filepath.Join(work, fmt.Sprintf("sbom-%d.cdx.json", i)), filepath.Join(work, fmt.Sprintf("vuln-%d.json", i))
		dst := fmt.Sprintf("%s/chain-%d:v1", reg.Host, i)
		wall, ru, _ = measure(b, peerEnv, syft, "docker-archive:"+img, "-q", "-o", "cyclonedx-json="+sbomFile)
		chain.add("syft", wall, ru)
		wall, ru, _ = measure(b, peerEnv, grype, "sbom:"+sbomFile, "-q", "-o", "json", "--file", vulnFile)
		chain.add("grype", wall, ru)
		wall, ru, pushed := measure(b, peerEnv, crane, "push", img, dst)
		chain.add("crane push", wall, ru)
		ref := strings.TrimSpace(pushed)
		wall, ru, _ = measure(b, peerEnv, cosign, "sign", "--key", priv, "--tlog-upload=false", "--yes", ref)
		chain.add("cosign sign", wall, ru)
		wall, ru, _ = measure(b, peerEnv, cosign, "attest", "--key", priv, "--tlog-upload=false", "--yes", "--type", "cyclonedx", "--predicate", sbomFile, ref)
		chain.add("cosign attest cyclonedx", wall, ru)
		wall, ru, _ = measure(b, peerEnv, cosign, "attest", "--key", priv, "--tlog-upload=false", "--yes", "--type", "vuln", "--predicate", vulnFile, ref)
		chain.add("cosign attest vuln", wall, ru)
	}
	n := time.Duration(b.N)
	mb := func(x int64) float64 { return float64(x) / (1 << 20) }
	fmt.Printf("\nreference image: %s (%d MB docker save tarball), %d iteration(s), %d CPUs\n", filepath.Base(img), size>>20, b.N, runtime.NumCPU())
	fmt.Printf("%-34s %10s %10s %14s\n", "", "wall", "CPU", "peak RSS")
	fmt.Printf("%-34s %10s %10s %11.0f MB\n", "sealyard run", (ours.wall / n).Round(time.Millisecond), (ours.cpu / n).Round(time.Millisecond), mb(ours.peakRSS))
	fmt.Printf("%-34s %10s %10s %11.0f MB (%s)\n", "syft→grype→crane→cosign×3", (chain.wall / n).Round(time.Millisecond), (chain.cpu / n).Round(time.Millisecond), mb(chain.peakRSS), chain.heaviest)
	fmt.Printf("%-34s %10.2f %10.2f %14.2f\n", "ratio (sealyard / chain)", ours.wall.Seconds()/chain.wall.Seconds(), ours.cpu.Seconds()/chain.cpu.Seconds(), float64(ours.peakRSS)/float64(chain.peakRSS))
	fmt.Printf("\nchain steps (wall):")
	for _, st := range chain.steps {
		fmt.Printf("  %s %s", st, (chain.stepWall[st] / n).Round(time.Millisecond))
	}
	fmt.Printf("\nsealyard stages (wall, first iteration, from audit.jsonl):")
	if f, err := os.Open(filepath.Join(work, "out-0", "audit.jsonl")); err == nil {
		dec := json.NewDecoder(f)
		for {
			var e struct {
				Stage      string `json:"stage"`
				DurationMS int64  `json:"durationMs"`
			}
			if dec.Decode(&e) != nil {
				break
			}
			fmt.Printf("  %s %dms", e.Stage, e.DurationMS)
		}
		f.Close()
	}
	fmt.Println()
	b.ReportMetric(ours.wall.Seconds()/float64(b.N), "sealyard-wall-s/op")
	b.ReportMetric(chain.wall.Seconds()/float64(b.N), "chain-wall-s/op")
	b.ReportMetric(ours.wall.Seconds()/chain.wall.Seconds(), "wall-ratio")
	b.ReportMetric(float64(ours.peakRSS)/float64(chain.peakRSS), "rss-ratio")

	// The profile's top entries, for whoever optimises next.
	if top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=15", sealyard, profile).Output(); err == nil {
		fmt.Println("\nsealyard run CPU profile (first iteration), top entries:")
		sc := bufio.NewScanner(strings.NewReader(string(top)))
		for sc.Scan() {
			fmt.Println("  " + sc.Text())
		}
	}
}

// oneFileImage is a docker save tarball of an image with one small file:
// what cataloging costs before any work.
func oneFileImage(b *testing.B) string {
	b.Helper()
	dir := fixturecache.Dir(b, "bench-one-file", fixturecache.Key("bench-one-file-v1", runtime.Version()), func(dir string) error {
		src := filepath.Join(dir, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
			return err
		}
		a, err := build.Build(context.Background(), []build.Source{build.Directory(src, "/")},
			build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "amd64"}), build.WithCreated(time.Unix(1700000000, 0)))
		if err != nil {
			return err
		}
		if err := image.Write(context.Background(), a, "docker-archive:"+filepath.Join(dir, "image.tar")); err != nil {
			return err
		}
		return os.RemoveAll(src)
	})
	return filepath.Join(dir, "image.tar")
}

// sample is one process run.
type sample struct {
	wall, cpu time.Duration
	rss       int64
}

func median(xs []sample) sample {
	pick := func(key func(sample) int64) int64 {
		v := make([]int64, len(xs))
		for i, x := range xs {
			v[i] = key(x)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return sample{
		wall: time.Duration(pick(func(s sample) int64 { return int64(s.wall) })),
		cpu:  time.Duration(pick(func(s sample) int64 { return int64(s.cpu) })),
		rss:  pick(func(s sample) int64 { return s.rss }),
	}
}

// BenchmarkSBOM times sealyard sbom (the one-pass source, and stereoscope
// for comparison) against syft and Trivy writing CycloneDX of the same
// docker save tarball: the reference image and a one-file image. Each
// contender runs in turn, the order rotating, at least 5 times (b.N when
// larger); it prints the medians of wall time, CPU time and peak RSS and
// the ratios to syft and Trivy. Trivy gets a fresh cache each run (its
// layer cache would otherwise skip the work) and needs no vulnerability
// database for an SBOM.
func BenchmarkSBOM(b *testing.B) {
	ref, size := referenceImage(b)
	one := oneFileImage(b)
	work := b.TempDir()
	sealyard := filepath.Join(work, "sealyard")
	buildSealyard(b, sealyard)
	syft, trivy := peers.Syft.Path(b), peers.Trivy.Path(b)
	e := env{vars: slices.Clip(append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000", "SYFT_CHECK_FOR_APP_UPDATE=false"))}

	type contender struct {
		name string
		args func(img, out string) []string
		bin  string
	}
	contenders := []contender{
		{"sealyard sbom", func(img, out string) []string {
			return []string{"sbom", "docker-archive:" + img, "-o", "cyclonedx-json=" + out}
		}, sealyard},
		{"sealyard sbom (stereoscope)", func(img, out string) []string {
			return []string{"sbom", "docker-archive:" + img, "--catalog-source", "stereoscope", "-o", "cyclonedx-json=" + out}
		}, sealyard},
		{"syft", func(img, out string) []string {
			return []string{"docker-archive:" + img, "-q", "-o", "cyclonedx-json=" + out}
		}, syft},
		{"trivy", func(img, out string) []string {
			return []string{"image", "--input", img, "--quiet", "--format", "cyclonedx", "--output", out,
				"--cache-dir", filepath.Join(out + ".cache"), "--skip-db-update", "--skip-java-db-update", "--offline-scan"}
		}, trivy},
	}
	reps := max(b.N, 5)
	for _, im := range []struct{ name, path string }{{"reference image", ref}, {"one-file image", one}} {
		// Warm the page cache, so no contender pays for the first read.
		if _, err := os.ReadFile(im.path); err != nil {
			b.Fatal(err)
		}
		samples := map[string][]sample{}
		for r := 0; r < reps; r++ {
			for i := range contenders {
				c := contenders[(i+r)%len(contenders)]
				out := filepath.Join(work, fmt.Sprintf("%d-%d.cdx.json", r, (i+r)%len(contenders)))
				wall, ru, _ := measure(b, e, c.bin, c.args(im.path, out)...)
				os.RemoveAll(out + ".cache")
				samples[c.name] = append(samples[c.name], sample{wall, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024})
			}
		}
		fi, _ := os.Stat(im.path)
		fmt.Printf("\n%s: %s (%.1f MB docker save tarball), %d runs each, medians, %d CPUs\n", im.name, filepath.Base(im.path), float64(fi.Size())/(1<<20), reps, runtime.NumCPU())
		fmt.Printf("%-30s %9s %9s %10s %9s %9s %9s\n", "", "wall", "CPU", "peak RSS", "/ syft", "/ trivy", "RSS/syft")
		s, tr := median(samples["syft"]), median(samples["trivy"])
		for _, c := range contenders {
			m := median(samples[c.name])
			fmt.Printf("%-30s %9s %9s %7.0f MB %9.2f %9.2f %9.2f\n", c.name, m.wall.Round(time.Millisecond), m.cpu.Round(time.Millisecond), float64(m.rss)/(1<<20),
				m.wall.Seconds()/s.wall.Seconds(), m.wall.Seconds()/tr.wall.Seconds(), float64(m.rss)/float64(s.rss))
		}
		ours := median(samples["sealyard sbom"])
		metric := strings.ReplaceAll(im.name, " ", "-")
		b.ReportMetric(ours.wall.Seconds(), metric+"-sealyard-s")
		b.ReportMetric(ours.wall.Seconds()/s.wall.Seconds(), metric+"-wall/syft")
		b.ReportMetric(ours.wall.Seconds()/tr.wall.Seconds(), metric+"-wall/trivy")
	}
	_ = size
}

// sizedImage is a docker save tarball of the reference image's Debian
// base with copies of the four peer programs added (as
// /usr/local/bin/NAME-N) until the tarball passes mb megabytes.
func sizedImage(b *testing.B, mb int64) string {
	b.Helper()
	rootfs, bins, key := baseAndPrograms(b, []peers.Tool{peers.Crane, peers.Syft, peers.Grype, peers.Cosign}, "bench-sized-v1", runtime.Version(), fmt.Sprint(mb))
	dir := fixturecache.Dir(b, "bench-sized", key, func(dir string) error {
		binDir := filepath.Join(dir, "bin")
		if err := os.MkdirAll(binDir, 0o755); err != nil {
			return err
		}
		out := filepath.Join(dir, "image.tar")
		for n := 0; ; n++ {
			bin := bins[n%len(bins)]
			data, err := os.ReadFile(bin)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(binDir, fmt.Sprintf("%s-%d", filepath.Base(bin), n)), data, 0o755); err != nil {
				return err
			}
			a, err := build.Build(context.Background(),
				[]build.Source{build.Directory(rootfs, "/"), build.Directory(binDir, "/usr/local/bin")},
				build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "amd64"}),
				build.WithCreated(time.Unix(1700000000, 0)))
			if err != nil {
				return err
			}
			os.Remove(out)
			if err := image.Write(context.Background(), a, "docker-archive:"+out); err != nil {
				return err
			}
			if fi, err := os.Stat(out); err != nil || fi.Size() >= mb<<20 {
				break
			}
		}
		return os.RemoveAll(binDir)
	})
	return filepath.Join(dir, "image.tar")
}

// BenchmarkLinearCost runs sealyard sbom on generated images of about 50,
// 200 and 800 MB (the reference image's Debian base and real Go programs)
// and prints wall time, CPU time and peak RSS per image and per MB: time
// should grow with the bytes, memory with the largest file and the SBOM,
// not with the image.
func BenchmarkLinearCost(b *testing.B) {
	work := b.TempDir()
	sealyard := filepath.Join(work, "sealyard")
	buildSealyard(b, sealyard)
	e := env{vars: slices.Clip(append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000"))}
	reps := max(b.N, 3)
	fmt.Printf("\nsealyard sbom on generated images, %d runs each, medians, %d CPUs\n", reps, runtime.NumCPU())
	fmt.Printf("%-10s %8s %9s %9s %10s %10s %12s %10s\n", "target", "tarball", "wall", "CPU", "peak RSS", "s / 100MB", "largest file", "packages")
	var first float64
	for _, mb := range []int64{50, 200, 800} {
		img := sizedImage(b, mb)
		fi, err := os.Stat(img)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := os.ReadFile(img); err != nil {
			b.Fatal(err)
		}
		var ss []sample
		var doc string
		for r := 0; r < reps; r++ {
			doc = filepath.Join(work, fmt.Sprintf("sized-%d.syft.json", mb))
			wall, ru, _ := measure(b, e, sealyard, "sbom", "docker-archive:"+img, "-o", "syft-json="+doc)
			ss = append(ss, sample{wall, time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024})
		}
		m := median(ss)
		largest, pkgs := largestFile(b, doc)
		per := m.wall.Seconds() / (float64(fi.Size()) / (100 << 20))
		if first == 0 {
			first = per
		}
		fmt.Printf("%-10s %5.0f MB %9s %9s %7.0f MB %10.2f %9.0f MB %10d\n", fmt.Sprintf("%d MB", mb), float64(fi.Size())/(1<<20),
			m.wall.Round(time.Millisecond), m.cpu.Round(time.Millisecond), float64(m.rss)/(1<<20), per, float64(largest)/(1<<20), pkgs)
		b.ReportMetric(m.wall.Seconds(), fmt.Sprintf("%dMB-s", mb))
		b.ReportMetric(float64(m.rss)/(1<<20), fmt.Sprintf("%dMB-rss-MB", mb))
	}
}

// largestFile reads a syft JSON document: its largest file and package count.
func largestFile(b *testing.B, doc string) (int64, int) {
	b.Helper()
	data, err := os.ReadFile(doc)
	if err != nil {
		b.Fatal(err)
	}
	var d struct {
		Artifacts []json.RawMessage `json:"artifacts"`
		Files     []struct {
			Metadata struct {
				Size int64 `json:"size"`
			} `json:"metadata"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		b.Fatal(err)
	}
	var largest int64
	for _, f := range d.Files {
		largest = max(largest, f.Metadata.Size)
	}
	return largest, len(d.Artifacts)
}
