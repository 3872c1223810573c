package sbom

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
)

// tarEntry is one member of a synthetic layer.
type tarEntry struct {
	name, link string
	typ        byte
	data       []byte
	mode       int64
}

func layerOf(t testing.TB, comp compression.Compression, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, ModTime: time.Unix(1700000000, 0)}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, tarball.WithCompression(comp))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// edgeCaseImage has what an image's layers do to each other: whiteouts,
// an opaque directory, an entry written twice in one layer, hard links
// (to a file, to a symlink, to a file of a lower layer, to nothing),
// symbolic links to files and directories, a Go program deleted above
// and one reached only through a symlinked directory, and package
// manifests of several ecosystems, across gzip, zstd and uncompressed
// layers.
func edgeCaseImage(t testing.TB) v1.Image {
	t.Helper()
	fx := vulnfixture.Image(t)
	var progs [][]byte
	for _, p := range vulnfixture.Programs {
		data, err := os.ReadFile(fx.Binaries[p.Name])
		if err != nil {
			t.Fatal(err)
		}
		progs = append(progs, data)
	}
	if len(progs) < 2 {
		t.Fatalf("%d fixture programs", len(progs))
	}
	dir := func(n string) tarEntry { return tarEntry{name: n, typ: tar.TypeDir, mode: 0o755} }
	reg := func(n, s string) tarEntry { return tarEntry{name: n, typ: tar.TypeReg, data: []byte(s)} }
	exe := func(n string, b []byte) tarEntry { return tarEntry{name: n, typ: tar.TypeReg, data: b, mode: 0o755} }
	sym := func(n, to string) tarEntry { return tarEntry{name: n, link: to, typ: tar.TypeSymlink, mode: 0o777} }
	hard := func(n, to string) tarEntry { return tarEntry{name: n, link: to, typ: tar.TypeLink} }
	pkgJSON := func(name, version string) string {
		return fmt.Sprintf(`{"name":%q,"version":%q,"license":"MIT"}`, name, version)
	}

	base := layerOf(t, compression.GZip,
		dir("etc/"), reg("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
		dir("usr/"), dir("usr/bin/"), exe("usr/bin/first", progs[0]),
		hard("usr/bin/first-again", "usr/bin/first"),
		exe("usr/bin/removed", progs[1]),
		dir("usr/lib/"), reg("usr/lib/libx.so.1", "not really a library"), sym("usr/lib/libx.so", "libx.so.1"),
		hard("usr/lib/libx.so.hard", "usr/lib/libx.so"),
		dir("opt/"), dir("opt/app/"), dir("opt/app/node_modules/"), dir("opt/app/node_modules/left-pad/"),
		reg("opt/app/node_modules/left-pad/package.json", pkgJSON("left-pad", "1.3.0")),
		dir("opt/app/node_modules/gone/"), reg("opt/app/node_modules/gone/package.json", pkgJSON("gone", "0.1.0")),
		dir("srv/"), dir("srv/site/"), reg("srv/site/package.json", pkgJSON("hidden-by-opaque", "2.0.0")),
		dir("real/"), dir("real/bin/"), exe("real/bin/via-link", progs[1]),
		sym("linked", "real"),
		hard("dangling-hard", "no/such/file"),
		reg("twice.txt", "first"), reg("twice.txt", "second"),
	)
	middle := layerOf(t, compression.ZStd,
		dir("usr/bin/"), tarEntry{name: "usr/bin/.wh.removed", typ: tar.TypeReg},
		dir("opt/app/node_modules/"), tarEntry{name: "opt/app/node_modules/.wh.gone", typ: tar.TypeReg},
		dir("srv/site/"), tarEntry{name: "srv/site/.wh..wh..opq", typ: tar.TypeReg},
		reg("srv/site/package.json", pkgJSON("site", "3.1.4")),
		dir("usr/lib/python3/"), dir("usr/lib/python3/dist-packages/"), dir("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/"),
		reg("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n"),
		hard("usr/bin/lower-hard", "usr/bin/first"),
		sym("usr/bin/first", "first-again"),
	)
	top := layerOf(t, compression.None,
		reg("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_CODENAME=bookworm\n"),
		dir("opt/app/node_modules/left-pad/"), reg("opt/app/node_modules/left-pad/package.json", pkgJSON("left-pad", "1.3.1")),
	)
	img, err := mutate.AppendLayers(empty.Image, base, middle, top)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64", Created: v1.Time{Time: time.Unix(1700000000, 0)},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs(t, base, middle, top)}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// noLayers is an image of a config and no layer.
func noLayers(t testing.TB) v1.Image {
	t.Helper()
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func diffIDs(t testing.TB, ls ...v1.Layer) []v1.Hash {
	t.Helper()
	var out []v1.Hash
	for _, l := range ls {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// comparedImages are the images two ways of cataloging are compared on:
// the Debian fixture with its Go programs (one linking x/net beside the
// standard library's vendored copy of it, one stripped), a program built
// with another Go release, and the layers, links and whiteouts image.
func comparedImages(t *testing.T) map[string]v1.Image {
	t.Helper()
	return map[string]v1.Image{
		"debian-and-go-programs": vulnfixture.Image(t).Image,
		"gate-program":           vulnfixture.GateImage(t),
		"layers-links-whiteouts": edgeCaseImage(t),
	}
}

// TestOnePassMatchesStereoscope is the one-pass source's contract: the
// SBOM it gives is the one stereoscope gives, byte for byte in every
// format (packages, versions, PURLs, locations, layers, Go symbols, file
// digests and metadata, relationships).
func TestOnePassMatchesStereoscope(t *testing.T) {
	images := comparedImages(t)
	images["no layers"] = noLayers(t)
	// A layer of more entries than the index budget is read twice; the
	// edge-case image's layers all are, with a budget of 5.
	images["layers-links-whiteouts, read twice"] = images["layers-links-whiteouts"]
	for name, img := range images {
		t.Run(name, func(t *testing.T) {
			if strings.HasSuffix(name, "read twice") {
				defer func(b int) { indexBudget = b }(indexBudget)
				indexBudget = 5
			}
			one, st := mustGenerate(t, img), mustGenerate(t, img, WithStereoscope())
			if n := one.SBOM.Artifacts.Packages.PackageCount(); n < 2 && name != "no layers" {
				t.Fatalf("only %d packages: nothing to compare", n)
			}
			sameDocuments(t, one, st, "the one-pass SBOM differs from stereoscope's")
		})
	}
}

// sameDocuments fails unless a and b encode to the same bytes in every
// format.
func sameDocuments(t *testing.T, a, b *Document, differ string) {
	t.Helper()
	epoch := time.Unix(1700000000, 0)
	for _, f := range Formats {
		x, err := EncodeBytes(a, f, epoch)
		if err != nil {
			t.Fatal(err)
		}
		y, err := EncodeBytes(b, f, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s: %s:\n%s", f, differ, firstDiff(x, y))
		}
	}
}

// firstDiff shows the first differing lines of two documents.
func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			lo := max(0, i-3)
			return fmt.Sprintf("line %d\nfirst:\n%s\nsecond:\n%s", i+1,
				strings.Join(al[lo:min(len(al), i+4)], "\n"), strings.Join(bl[lo:min(len(bl), i+4)], "\n"))
		}
	}
	return fmt.Sprintf("%d lines against %d", len(al), len(bl))
}
