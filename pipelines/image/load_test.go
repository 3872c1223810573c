package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func randomImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func twoPlatformIndex(t *testing.T) v1.ImageIndex {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		adds = append(adds, mutate.IndexAddendum{
			Add:        randomImage(t, arch),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	idx, err := random.Index(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.AppendManifests(idx, adds...)
}

func digest(t *testing.T, a Artifact) v1.Hash {
	t.Helper()
	d, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	img := randomImage(t, "amd64")
	idx := twoPlatformIndex(t)
	tests := []struct {
		name string
		a    Artifact
		ref  string
	}{
		{"oci-dir image", img, "oci-dir:" + filepath.Join(dir, "img")},
		{"oci-dir index", idx, "oci-dir:" + filepath.Join(dir, "idx")},
		{"oci-archive image", img, "oci-archive:" + filepath.Join(dir, "img.tar")},
		{"oci-archive index", idx, "oci-archive:" + filepath.Join(dir, "idx.tar")},
		{"docker-archive", img, "docker-archive:" + filepath.Join(dir, "docker.tar")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Write(ctx, tt.a, tt.ref); err != nil {
				t.Fatal(err)
			}
			// Writing twice replaces the first output.
			if err := Write(ctx, tt.a, tt.ref); err != nil {
				t.Fatalf("second write: %v", err)
			}
			l, err := Load(ctx, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			want := digest(t, tt.a)
			if strings.HasPrefix(tt.ref, "docker-archive:") {
				// docker save format keeps config and layers, not the
				// manifest bytes: compare the config digest instead.
				gotCfg, _ := l.Artifact.(v1.Image).ConfigName()
				wantCfg, _ := img.ConfigName()
				if gotCfg != wantCfg {
					t.Fatalf("config digest %s, want %s", gotCfg, wantCfg)
				}
				return
			}
			if got := digest(t, l.Artifact); got != want {
				t.Fatalf("digest %s, want %s", got, want)
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("left a staging file behind: %s", e.Name())
		}
	}
}

func TestLoadSelectsPlatforms(t *testing.T) {
	ctx := context.Background()
	ref := "oci-dir:" + filepath.Join(t.TempDir(), "idx")
	idx := twoPlatformIndex(t)
	if err := Write(ctx, idx, ref); err != nil {
		t.Fatal(err)
	}
	l, err := Load(ctx, ref, WithPlatforms(v1.Platform{OS: "linux", Architecture: "arm64"}))
	if err != nil {
		t.Fatal(err)
	}
	img, ok := l.Artifact.(v1.Image)
	if !ok {
		t.Fatalf("one platform should give an image, got %T", l.Artifact)
	}
	cf, _ := img.ConfigFile()
	if cf.Architecture != "arm64" {
		t.Fatalf("got %s", cf.Architecture)
	}
	_, err = Load(ctx, ref, WithPlatforms(v1.Platform{OS: "linux", Architecture: "s390x"}))
	if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Fatalf("missing platform: %v", err)
	}
	imgs, err := Images(idx)
	if err != nil || len(imgs) != 2 {
		t.Fatalf("Images: %d %v", len(imgs), err)
	}
}

// tarWith writes a tar archive of the given entries.
func tarWith(t *testing.T, path string, entries ...*tar.Header) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadHostileInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.tar")
	if err := Write(ctx, randomImage(t, "amd64"), "docker-archive:"+good); err != nil {
		t.Fatal(err)
	}
	goodOCI := filepath.Join(dir, "good-oci.tar")
	if err := Write(ctx, randomImage(t, "amd64"), "oci-archive:"+goodOCI); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated.tar")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)
	ociData, _ := os.ReadFile(goodOCI)
	truncatedOCI := filepath.Join(dir, "truncated-oci.tar")
	os.WriteFile(truncatedOCI, ociData[:len(ociData)-2000], 0o644)

	traversal := filepath.Join(dir, "traversal.tar")
	tarWith(t, traversal, &tar.Header{Name: "index.json", Size: 2}, &tar.Header{Name: "../../etc/evil", Size: 4})
	absolute := filepath.Join(dir, "absolute.tar")
	tarWith(t, absolute, &tar.Header{Name: "/etc/evil", Size: 4})
	symlink := filepath.Join(dir, "symlink.tar")
	tarWith(t, symlink, &tar.Header{Name: "index.json", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"})
	escapingLink := filepath.Join(dir, "escaping-link.tar")
	tarWith(t, escapingLink, &tar.Header{Name: "a/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../../../etc/shadow"}, &tar.Header{Name: "manifest.json", Size: 2})
	notTar := filepath.Join(dir, "not.tar")
	os.WriteFile(notTar, []byte(strings.Repeat("this is not a tar archive\n", 100)), 0o644)
	empty := filepath.Join(dir, "empty.tar")
	os.WriteFile(empty, nil, 0o644)
	missingLayer := filepath.Join(dir, "missing-layer.tar")
	tarWith(t, missingLayer, &tar.Header{Name: "manifest.json", Size: 0})
	// manifest.json naming a layer the archive lacks.
	var mbuf bytes.Buffer
	tw := tar.NewWriter(&mbuf)
	manifest := []byte(`[{"Config":"cfg.json","RepoTags":["x:y"],"Layers":["abc/layer.tar"]}]`)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Size: int64(len(manifest)), Typeflag: tar.TypeReg})
	tw.Write(manifest)
	tw.WriteHeader(&tar.Header{Name: "cfg.json", Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("{}"))
	tw.Close()
	os.WriteFile(missingLayer, mbuf.Bytes(), 0o644)

	// An oci-dir whose layer blob was deleted.
	missingBlob := filepath.Join(dir, "missing-blob")
	img := randomImage(t, "amd64")
	if err := Write(ctx, img, "oci-dir:"+missingBlob); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	os.Remove(filepath.Join(missingBlob, "blobs", "sha256", ld.Hex))

	tests := []struct {
		name, ref, want string
	}{
		{"truncated docker-archive", "docker-archive:" + truncated, "truncated"},
		{"truncated oci-archive", "oci-archive:" + truncatedOCI, "truncated"},
		{"path traversal", "oci-archive:" + traversal, "path traversal"},
		{"absolute path", "oci-archive:" + absolute, "absolute path"},
		{"symlink in oci-archive", "oci-archive:" + symlink, "symlink"},
		{"escaping symlink in docker-archive", "docker-archive:" + escapingLink, "outside the archive"},
		{"not a tar", "docker-archive:" + notTar, "not a valid tar"},
		{"empty file", "oci-archive:" + empty, "empty or not a tar"},
		{"missing layer in docker-archive", "docker-archive:" + missingLayer, "abc/layer.tar"},
		{"missing blob in oci-dir", "oci-dir:" + missingBlob, "blob " + ld.String() + " is missing"},
		{"docker-archive given an OCI archive", "docker-archive:" + goodOCI, "use oci-archive:"},
		{"oci-archive given a docker archive", "oci-archive:" + good, "use docker-archive:"},
		{"not there", "oci-dir:" + filepath.Join(dir, "nope"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tempEntries(t)
			l, err := Load(ctx, tt.ref)
			if err == nil {
				l.Close()
				t.Fatalf("Load(%s) succeeded", tt.ref)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			if after := tempEntries(t); after > before {
				t.Errorf("Load left %d temporary entries behind", after-before)
			}
		})
	}
	if _, err := os.Stat("/etc/evil"); err == nil {
		t.Fatal("path traversal wrote /etc/evil")
	}
}

func tempEntries(t *testing.T) int {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "sealyard-oci-") {
			n++
		}
	}
	return n
}

func TestArchiveLimits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.tar")
	tarWith(t, big, &tar.Header{Name: "index.json", Size: 4096})
	_, err := Load(ctx, "oci-archive:"+big, WithArchiveLimits(1024, 1<<20, 10))
	if err == nil || !strings.Contains(err.Error(), "over the 1024 byte limit") {
		t.Fatalf("oversized entry: %v", err)
	}
	// A header claiming far more than the file holds.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "index.json", Size: 1 << 30, Typeflag: tar.TypeReg})
	tw.Write([]byte("{}"))
	forged := filepath.Join(dir, "forged.tar")
	os.WriteFile(forged, buf.Bytes(), 0o644)
	_, err = Load(ctx, "oci-archive:"+forged)
	if err == nil || !strings.Contains(err.Error(), "more bytes than the archive holds") {
		t.Fatalf("forged size: %v", err)
	}
}

func TestWriteRefusesToClobber(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "src")
	os.MkdirAll(victim, 0o755)
	os.WriteFile(filepath.Join(victim, "main.go"), []byte("package main"), 0o644)
	err := Write(context.Background(), randomImage(t, "amd64"), "oci-dir:"+victim)
	if err == nil || !strings.Contains(err.Error(), "not an OCI layout") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(victim, "main.go")); err != nil {
		t.Fatal("the existing directory was touched")
	}
	if err := Write(context.Background(), twoPlatformIndex(t), "docker-archive:"+filepath.Join(dir, "x.tar")); err == nil || !strings.Contains(err.Error(), "--platform") {
		t.Fatalf("index to docker-archive: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed write left a file")
	}
	if err := Write(context.Background(), randomImage(t, "amd64"), "example.com/x:y"); err == nil {
		t.Fatal("writing to a bare registry reference should be refused")
	}
}

// readAll reads everything the gate and the signer would: the config and
// every layer, compressed and uncompressed.
func readAll(a Artifact) error {
	imgs, err := Images(a)
	if err != nil {
		return err
	}
	for _, pi := range imgs {
		if _, err := pi.Image.ConfigFile(); err != nil {
			return err
		}
		ls, err := pi.Image.Layers()
		if err != nil {
			return err
		}
		for _, l := range ls {
			for _, open := range []func() (io.ReadCloser, error){l.Compressed, l.Uncompressed} {
				rc, err := open()
				if err != nil {
					return err
				}
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Every blob read from a local source is checked against its digest: an
// OCI layout whose config was edited after the fact (the user the gate
// judges), a layer blob swapped for another valid one, an edited manifest,
// and a docker save archive whose layer was swapped are refused, naming
// the blob; the untouched layout reads through.
func TestTamperedBlobsAreRefused(t *testing.T) {
	ctx := context.Background()
	layoutOf := func(t *testing.T) (string, *v1.Manifest) {
		dir := filepath.Join(t.TempDir(), "layout")
		img := randomImage(t, "amd64")
		if err := Write(ctx, img, "oci-dir:"+dir); err != nil {
			t.Fatal(err)
		}
		m, _ := img.Manifest()
		return dir, m
	}
	blob := func(dir string, h v1.Hash) string { return filepath.Join(dir, "blobs", h.Algorithm, h.Hex) }
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string, m *v1.Manifest)
		want   string
	}{
		{"config edited", func(t *testing.T, dir string, m *v1.Manifest) {
			p := blob(dir, m.Config.Digest)
			b, _ := os.ReadFile(p)
			// The same length, another user: only the digest tells.
			b = bytes.Replace(b, []byte(`"architecture":"amd64"`), []byte(`"architecture":"arm64"`), 1)
			os.WriteFile(p, b, 0o644)
		}, "config blob " + "sha256:"},
		{"layer swapped", func(t *testing.T, dir string, m *v1.Manifest) {
			// Another valid layer of the very same size: only the digest tells.
			for i := 0; i < 1000; i++ {
				other, _ := random.Layer(512, types.OCILayer)
				rc, _ := other.Compressed()
				b, _ := io.ReadAll(rc)
				if int64(len(b)) == m.Layers[0].Size {
					os.WriteFile(blob(dir, m.Layers[0].Digest), b, 0o644)
					return
				}
			}
			t.Fatal("no random layer of the same size")
		}, "layer blob " + "sha256:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, m := layoutOf(t)
			if l, err := Load(ctx, "oci-dir:"+dir); err != nil || readAll(l.Artifact) != nil {
				t.Fatalf("the untouched layout: %v", err)
			}
			tc.tamper(t, dir, m)
			l, err := Load(ctx, "oci-dir:"+dir)
			if err == nil {
				err = readAll(l.Artifact)
			}
			if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an invalid-image error naming the %s", err, tc.want)
			}
		})
	}
	t.Run("manifest edited", func(t *testing.T) {
		dir, _ := layoutOf(t)
		idx, _ := os.ReadFile(filepath.Join(dir, "index.json"))
		var im v1.IndexManifest
		json.Unmarshal(idx, &im)
		p := blob(dir, im.Manifests[0].Digest)
		b, _ := os.ReadFile(p)
		// Point the manifest at another config, keeping it valid JSON.
		i := bytes.Index(b, []byte(`"digest":"sha256:`)) + len(`"digest":"sha256:`)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		os.WriteFile(p, b, 0o644)
		_, err := Load(ctx, "oci-dir:"+dir)
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "manifest "+im.Manifests[0].Digest.String()) {
			t.Fatalf("an edited manifest: %v", err)
		}
	})
	t.Run("docker archive layer swapped", func(t *testing.T) {
		img := randomImage(t, "amd64")
		good := filepath.Join(t.TempDir(), "good.tar")
		if err := Write(ctx, img, "docker-archive:"+good); err != nil {
			t.Fatal(err)
		}
		bad := swapLayers(t, good, (v1.Layer).Compressed)
		l, err := Load(ctx, "docker-archive:"+bad)
		if err == nil {
			err = readAll(l.Artifact)
		}
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "uncompressed layer (diff_id)") {
			t.Fatalf("a docker archive with a swapped layer: %v", err)
		}
	})
}

// swapLayers copies a docker archive written by Write with each layer
// replaced by a random one, as read by form (compressed or not).
func swapLayers(t *testing.T, archive string, form func(v1.Layer) (io.ReadCloser, error)) string {
	t.Helper()
	return rewriteTar(t, archive, func(name string, data []byte) []byte {
		if !strings.HasSuffix(name, ".tar.gz") {
			return data
		}
		other, err := random.Layer(512, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := form(other)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// rewriteTar copies a tar, passing each regular file through edit.
func rewriteTar(t *testing.T, src string, edit func(name string, data []byte) []byte) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	dst := filepath.Join(t.TempDir(), "rewritten.tar")
	out, _ := os.Create(dst)
	defer out.Close()
	tr, tw := tar.NewReader(in), tar.NewWriter(out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if h.Typeflag == tar.TypeReg {
			data = edit(h.Name, data)
			h.Size = int64(len(data))
		}
		tw.WriteHeader(h)
		tw.Write(data)
	}
	tw.Close()
	return dst
}

// TestDockerArchiveOfUncompressedLayers: a docker save archive keeps its
// layers uncompressed, and its layers say so (StoredUncompressed), so
// readers take their contents from Uncompressed rather than compressing
// them only to decompress them. Those contents are checked against the
// config's diff_ids: a swapped layer is refused. An archive of compressed
// layers does not claim it.
func TestDockerArchiveOfUncompressedLayers(t *testing.T) {
	ctx := context.Background()
	good := filepath.Join(t.TempDir(), "good.tar")
	if err := Write(ctx, randomImage(t, "amd64"), "docker-archive:"+good); err != nil {
		t.Fatal(err)
	}
	gunzip := func(data []byte) []byte {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	plain := rewriteTar(t, good, func(name string, data []byte) []byte {
		if !strings.HasSuffix(name, ".tar.gz") {
			return data
		}
		return gunzip(data)
	})
	stored := func(ref string) ([]bool, error) {
		l, err := Load(ctx, ref)
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ls, err := l.Artifact.(v1.Image).Layers()
		if err != nil {
			return nil, err
		}
		var out []bool
		for _, layer := range ls {
			s, ok := layer.(interface{ StoredUncompressed() bool })
			out = append(out, ok && s.StoredUncompressed())
		}
		return out, readAll(l.Artifact)
	}
	if got, err := stored("docker-archive:" + good); err != nil || !slices.Equal(got, []bool{false, false}) {
		t.Fatalf("compressed layers: stored uncompressed %v, %v", got, err)
	}
	if got, err := stored("docker-archive:" + plain); err != nil || !slices.Equal(got, []bool{true, true}) {
		t.Fatalf("uncompressed layers: stored uncompressed %v, %v", got, err)
	}

	// Such layers are compressed once, at load, into files that go on
	// Close; the blobs, and so the digest, are the ones go-containerregistry
	// makes of the archive.
	tmp := t.TempDir()
	once, err := Load(ctx, "docker-archive:"+plain, WithTempDir(tmp))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := tarball.ImageFromPath(plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := digest(t, once.Artifact), digest(t, theirs); got != want {
		t.Fatalf("compressed once: %s; go-containerregistry: %s", got, want)
	}
	if blobs, _ := filepath.Glob(filepath.Join(tmp, "*", "*")); len(blobs) != 2 {
		t.Fatalf("blob files while open: %v", blobs)
	}
	if err := readAll(once.Artifact); err != nil {
		t.Fatal(err)
	}
	// A blob file changed after load is refused on its digest.
	blobs, _ := filepath.Glob(filepath.Join(tmp, "*", "*"))
	if err := os.WriteFile(blobs[0], []byte("changed"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := readAll(once.Artifact); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("a changed blob file: %v", err)
	}
	if err := once.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Fatalf("left after Close: %v", left)
	}

	swapped := swapLayers(t, good, (v1.Layer).Uncompressed)
	l, err := Load(ctx, "docker-archive:"+swapped)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ls, err := l.Artifact.(v1.Image).Layers()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ls[0].Uncompressed()
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
	}
	if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "uncompressed layer (diff_id)") {
		t.Fatalf("a swapped uncompressed layer: %v", err)
	}
}
