package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/sealyard/sealyard/pipelines/image"
)

// entry is one tar entry of a hostile layer.
type entry struct {
	name, link string
	typ        byte
	data       string
}

func layerTar(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data)), ModTime: time.Unix(1700000000, 0)}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if e.typ == tar.TypeChar || e.typ == tar.TypeBlock {
			h.Devmajor, h.Devminor = 8, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	return b.Bytes()
}

// gzipFile writes a gzip of what fill produces to a file and returns the
// path (made once per test binary run).
func gzipFile(t *testing.T, fill func(w io.Writer) error) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "layer.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	// BestSpeed compresses a run of zeros as tightly as BestCompression
	// (the deflate limit, about 1,000 to 1) and 17 times faster.
	zw, _ := kgzip.NewWriterLevel(f, kgzip.BestSpeed)
	if err := fill(zw); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	f.Close()
	return p
}

// imageOf writes an image of the given layers (uncompressed tars, or
// gzip files) with a linux/amd64 config to an OCI layout.
func imageOf(t *testing.T, tars [][]byte, gzips []string) string {
	t.Helper()
	var layers []v1.Layer
	for _, b := range tars {
		l, err := tarball.LayerFromReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	for _, g := range gzips {
		l, err := tarball.LayerFromFile(g)
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := image.Write(context.Background(), img, "oci-dir:"+dir); err != nil {
		t.Fatal(err)
	}
	return "oci-dir:" + dir
}

// runMeasured runs the sealyard binary and returns its exit code, stderr
// and peak resident memory: the process's VmHWM, sampled every 10 ms
// (ru_maxrss of a child Go starts includes the parent's memory, since the
// child is made with vfork).
func runMeasured(t *testing.T, args ...string) (int, string, int64) {
	t.Helper()
	cmd := exec.Command(sealyardBinary(t), args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var peak int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		for {
			if hwm := vmHWM(status); hwm > peak {
				peak = hwm
			}
			if p, err := os.FindProcess(cmd.Process.Pid); err != nil || p.Signal(syscall.Signal(0)) != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	err := cmd.Wait()
	<-done
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return code, stderr.String(), peak
}

// vmHWM reads the peak resident set of a process, in bytes.
func vmHWM(status string) int64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

// TestHostileImages catalogs a corpus of hostile images with the sealyard
// binary: each is refused with exit 2 and an error naming what is wrong,
// or cataloged safely; nothing is ever written outside the work
// directory, and peak memory stays under a bound. The table (input, exit,
// error, peak memory) is logged and kept in the README.
func TestHostileImages(t *testing.T) {
	outside := filepath.Join(os.TempDir(), fmt.Sprintf("sealyard-escape-%d", os.Getpid()))
	defer os.RemoveAll(outside)
	zeros := func(n int64) func(io.Writer) error {
		return func(w io.Writer) error {
			tw := tar.NewWriter(w)
			if err := tw.WriteHeader(&tar.Header{Name: "zeros", Mode: 0o644, Size: n, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			if _, err := io.CopyN(tw, zeroReader{}, n); err != nil {
				return err
			}
			return tw.Close()
		}
	}
	// trailing is a tar of one small file followed by n zero bytes: a
	// stream that declares nothing large and still inflates without end.
	trailing := func(n int64) func(io.Writer) error {
		return func(w io.Writer) error {
			if _, err := w.Write(layerTar(t, entry{name: "small", typ: tar.TypeReg, data: "x"})); err != nil {
				return err
			}
			_, err := io.CopyN(w, zeroReader{}, n)
			return err
		}
	}
	manyFiles := func(n int) func(io.Writer) error {
		return func(w io.Writer) error {
			tw := tar.NewWriter(w)
			for i := 0; i < n; i++ {
				if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d%d/f%d", i/1000, i), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
					return err
				}
			}
			return tw.Close()
		}
	}
	notJSON := func() string {
		img, _ := mutate.AppendLayers(empty.Image, static.NewLayer(layerTar(t, entry{name: "a", typ: tar.TypeReg, data: "a"}), types.OCILayer))
		dir := filepath.Join(t.TempDir(), "layout")
		image.Write(context.Background(), img, "oci-dir:"+dir)
		m, _ := img.Manifest()
		raw := []byte("this config is not JSON")
		m.Config.Digest, m.Config.Size = v1.Hash{Algorithm: "sha256", Hex: sum(raw)[len("sha256:"):]}, int64(len(raw))
		os.WriteFile(filepath.Join(dir, "blobs", "sha256", m.Config.Digest.Hex), raw, 0o644)
		return rewriteLayoutManifest(t, dir, m)
	}
	// sparse is a layer holding one sparse file of n bytes (all hole but
	// its last three), as GNU tar writes it: ten kilobytes of tar.
	sparse := func(n int64) func() string {
		return func() string {
			dir := t.TempDir()
			f, err := os.Create(filepath.Join(dir, "big"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("end"), n-3); err != nil {
				t.Fatal(err)
			}
			f.Close()
			out := filepath.Join(t.TempDir(), "layer.tar")
			if b, err := exec.Command("tar", "--sparse", "--format=posix", "-C", dir, "-cf", out, "big").CombinedOutput(); err != nil {
				t.Fatalf("tar: %v: %s", err, b)
			}
			b := mustRead(t, out)
			if len(b) > 1<<20 {
				t.Fatalf("the sparse layer is %d bytes of tar: the file system made no holes", len(b))
			}
			return imageOf(t, [][]byte{b}, nil)
		}
	}
	// selfIndex is a layout whose index lists a blob that is an index
	// listing itself (the blob's bytes cannot match the digest that
	// names them: the loop exists only if nobody checks).
	selfIndex := func() string {
		dir := filepath.Join(t.TempDir(), "layout")
		os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
		self := sum([]byte("self"))
		body := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":%q,"size":%d}]}`, self, 0)
		body = strings.Replace(body, `"size":0`, fmt.Sprintf(`"size":%d`, len(body)), 1)
		os.WriteFile(filepath.Join(dir, "blobs", "sha256", self[len("sha256:"):]), []byte(body), 0o644)
		os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
		os.WriteFile(filepath.Join(dir, "index.json"), []byte(body), 0o644)
		return "oci-dir:" + dir
	}
	// deepIndex nests a real image in ten indexes, every digest true.
	deepIndex := func() string {
		img, _ := mutate.AppendLayers(empty.Image, static.NewLayer(layerTar(t, entry{name: "a", typ: tar.TypeReg, data: "a"}), types.OCILayer))
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		var idx v1.ImageIndex = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
		for i := 0; i < 10; i++ {
			idx = mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), mutate.IndexAddendum{Add: idx})
		}
		dir := filepath.Join(t.TempDir(), "layout")
		if err := image.Write(context.Background(), idx, "oci-dir:"+dir); err != nil {
			t.Fatal(err)
		}
		return "oci-dir:" + dir
	}
	cases := []struct {
		name   string
		ref    func() string
		args   []string
		exit   int
		want   string
		maxRSS int64
	}{
		{"path traversal (../ entries)", func() string {
			return imageOf(t, [][]byte{layerTar(t, entry{name: "../../../../" + strings.TrimPrefix(outside, "/") + "/dotdot", typ: tar.TypeReg, data: "x"})}, nil)
		}, nil, 0, "", 400 << 20},
		{"absolute paths", func() string {
			return imageOf(t, [][]byte{layerTar(t, entry{name: outside + "/abs", typ: tar.TypeReg, data: "x"})}, nil)
		}, nil, 0, "", 400 << 20},
		{"symlink escape", func() string {
			return imageOf(t, [][]byte{layerTar(t, entry{name: "escape", link: "../../../../" + strings.TrimPrefix(outside, "/"), typ: tar.TypeSymlink}, entry{name: "escape/via-link", typ: tar.TypeReg, data: "x"})}, nil)
		}, nil, 0, "", 400 << 20},
		{"hardlink escape", func() string {
			return imageOf(t, [][]byte{layerTar(t, entry{name: "passwd", link: "../../../../etc/passwd", typ: tar.TypeLink})}, nil)
		}, nil, 0, "", 400 << 20},
		{"device files", func() string {
			return imageOf(t, [][]byte{layerTar(t, entry{name: "dev/sda", typ: tar.TypeBlock}, entry{name: "dev/tty", typ: tar.TypeChar}, entry{name: "fifo", typ: tar.TypeFifo})}, nil)
		}, nil, 0, "", 400 << 20},
		{"gzip bomb (2 MiB of gzip: one file of 2 GiB of zeros; limit 256 MiB)", func() string {
			return imageOf(t, nil, []string{gzipFile(t, zeros(2<<30))})
		}, []string{"--max-layer-size", fmt.Sprint(256 << 20)}, 2, "declare more than 268435456 bytes", 400 << 20},
		{"gzip bomb (2 MiB of gzip: a small tar, then 2 GiB of zeros; limit 256 MiB)", func() string {
			return imageOf(t, nil, []string{gzipFile(t, trailing(2<<30))})
		}, []string{"--max-layer-size", fmt.Sprint(256 << 20)}, 2, "expands past 268435456 bytes", 400 << 20},
		{"a layer of 600,000 files (limit 500,000)", func() string {
			return imageOf(t, nil, []string{gzipFile(t, manyFiles(600_000))})
		}, nil, 2, "holds more than 500000 files", 400 << 20},
		{"1,200 layers", func() string {
			var tars [][]byte
			for i := 0; i < 1200; i++ {
				tars = append(tars, layerTar(t, entry{name: fmt.Sprintf("f%d", i), typ: tar.TypeReg, data: "x"}))
			}
			return imageOf(t, tars, nil)
		}, nil, 2, "the image has 1200 layers, more than 1000", 400 << 20},
		{"a config that is not JSON", notJSON, nil, 2, "is not an image config", 400 << 20},
		{"a 10 GB sparse file (10 KiB of tar; limit 8 GiB)", sparse(10_000_000_000), nil, 2, "declare more than 8589934592 bytes", 400 << 20},
		{"an index that lists itself (a forged blob)", selfIndex, nil, 2, "digest mismatch: index sha256:", 400 << 20},
		{"an image nested in ten indexes", deepIndex, nil, 2, "nested deeper than 4 levels", 400 << 20},
	}
	var table []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ref := c.ref()
			code, stderr, rss := runMeasured(t, append([]string{"sbom", ref, "-o", "syft-json=" + filepath.Join(t.TempDir(), "sbom.json")}, c.args...)...)
			if code != c.exit || (c.want != "" && !strings.Contains(stderr, c.want)) {
				t.Fatalf("exit %d, stderr %q; want exit %d saying %q", code, stderr, c.exit, c.want)
			}
			if rss > c.maxRSS {
				t.Errorf("peak memory %d MiB, over the %d MiB bound", rss>>20, c.maxRSS>>20)
			}
			if _, err := os.Stat(outside); err == nil {
				t.Fatalf("something was written outside the work directory: %s", outside)
			}
			msg := "cataloged; nothing written outside"
			if code != 0 {
				msg = firstLineOf(stderr)
			}
			table = append(table, fmt.Sprintf("| %s | %d | %s | %d MiB |", c.name, code, msg, rss>>20))
		})
	}
	t.Logf("\n| input | exit | error | peak memory |\n| --- | --- | --- | --- |\n%s", strings.Join(table, "\n"))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func firstLineOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		s = s[i+1:]
	}
	for _, key := range []string{"layer over a limit", "invalid image"} {
		if i := strings.Index(s, key); i >= 0 {
			s = s[i:]
			break
		}
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strings.ReplaceAll(s, "|", "/")
}

// rewriteLayoutManifest writes m as the layout's only manifest.
func rewriteLayoutManifest(t *testing.T, dir string, m *v1.Manifest) string {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h := sum(raw)[len("sha256:"):]
	os.WriteFile(filepath.Join(dir, "blobs", "sha256", h), raw, 0o644)
	idx := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":%q,"digest":"sha256:%s","size":%d}]}`, m.MediaType, h, len(raw))
	os.WriteFile(filepath.Join(dir, "index.json"), []byte(idx), 0o644)
	return "oci-dir:" + dir
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}
