package sbom

import (
	"archive/tar"
	"bytes"
	"debug/macho"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/anchore/syft/syft/pkg"

	"github.com/sealyard/sealyard/internal/testutil/goprog"
)

// withSyftSymbols has syft's golang cataloger capture the Go symbols on
// the one-pass source.
func withSyftSymbols() Option {
	return func(o *options) error {
		o.syftSymbols = true
		return nil
	}
}

// TestGoSymbolsMatchSyft is captureGoSymbols' contract: the Go symbols it
// reads after cataloging are the ones syft's golang cataloger captures
// for every module (SymbolScopeAll, with correctVendoredSymbols), and the
// packages carry the IDs syft gives them, so the SBOM is the same byte for
// byte in every format. The images hold Linux programs (one linking
// x/net beside the standard library's vendored copy of it, one stripped,
// one built with another Go release), a program reached through links and
// whiteouts, and macOS programs: a thin Mach-O file, and a universal one,
// which captureGoSymbols leaves to syft's own cataloger.
func TestGoSymbolsMatchSyft(t *testing.T) {
	images := comparedImages(t)
	images["macos-programs"] = macOSImage(t)
	for name, img := range images {
		t.Run(name, func(t *testing.T) {
			ours, syfts := mustGenerate(t, img), mustGenerate(t, img, withSyftSymbols())
			withSymbols := map[string]int{}
			for p := range ours.SBOM.Artifacts.Packages.Enumerate() {
				if m, ok := p.Metadata.(pkg.GolangBinaryBuildinfoEntry); ok && len(m.Symbols) > 0 {
					withSymbols[p.Locations.ToSlice()[0].RealPath]++
				}
			}
			if len(withSymbols) == 0 {
				t.Fatal("no package has symbols: nothing to compare")
			}
			if name == "macos-programs" {
				for _, path := range []string{"/app/thin", "/app/universal"} {
					if withSymbols[path] == 0 {
						t.Errorf("%s: no package with symbols", path)
					}
				}
			}
			sameDocuments(t, ours, syfts, "the SBOM differs from syft's symbol capture")
		})
	}
}

// macOSImage holds a fixture program built for macOS twice: as it is
// (/app/thin), and as the one slice of a universal file (/app/universal).
func macOSImage(t testing.TB) v1.Image {
	t.Helper()
	thin, err := os.ReadFile(goprog.BuildFor(t, goprog.TextParse, "darwin", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	exe := func(n string, b []byte) tarEntry { return tarEntry{name: n, typ: tar.TypeReg, data: b, mode: 0o755} }
	l := layerOf(t, compression.GZip, tarEntry{name: "app/", typ: tar.TypeDir, mode: 0o755},
		exe("app/thin", thin), exe("app/universal", universalBinary(t, thin)))
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64", Created: v1.Time{Time: time.Unix(1700000000, 0)},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs(t, l)}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// universalBinary wraps a thin Mach-O file in a universal (fat) file of
// one slice, as lipo writes it.
func universalBinary(t testing.TB, thin []byte) []byte {
	t.Helper()
	f, err := macho.NewFile(bytes.NewReader(thin))
	if err != nil {
		t.Fatal(err)
	}
	const align = 14 // the slice starts at 16 KiB
	var b bytes.Buffer
	header := []uint32{macho.MagicFat, 1, uint32(f.Cpu), f.SubCpu, 1 << align, uint32(len(thin)), align}
	if err := binary.Write(&b, binary.BigEndian, header); err != nil {
		t.Fatal(err)
	}
	b.Write(make([]byte, 1<<align-b.Len()))
	b.Write(thin)
	if _, err := macho.NewFatFile(bytes.NewReader(b.Bytes())); err != nil {
		t.Fatalf("not a universal file: %v", err)
	}
	return b.Bytes()
}
