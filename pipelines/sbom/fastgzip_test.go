package sbom

import (
	"bytes"
	"context"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
)

func TestFastGzipLayerReadsTheSameBytes(t *testing.T) {
	img, err := random.Image(1<<20, 3)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := fastGzipImage{Image: img}.Layers()
	if err != nil {
		t.Fatal(err)
	}
	slow, _ := img.Layers()
	for i := range fast {
		if !bytes.Equal(readAll(t, fast[i].Uncompressed), readAll(t, slow[i].Uncompressed)) {
			t.Fatalf("layer %d decompresses differently", i)
		}
	}
	// A layer labelled gzip whose blob is not: the layer's own reader.
	plain := static.NewLayer([]byte("not gzip at all"), types.DockerLayer)
	if got := readAll(t, fastGzipImage{}.layer(plain).Uncompressed); string(got) != "not gzip at all" {
		t.Fatalf("a non-gzip blob read as %q", got)
	}
}

func readAll(t *testing.T, open func() (io.ReadCloser, error)) []byte {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storedPlain is a layer whose source keeps it uncompressed; reading its
// compressed form is a mistake the test reports.
type storedPlain struct {
	v1.Layer
	t *testing.T
}

func (l storedPlain) StoredUncompressed() bool { return true }

func (l storedPlain) Compressed() (io.ReadCloser, error) {
	l.t.Error("a layer stored uncompressed was read compressed")
	return l.Layer.Compressed()
}

type storedPlainImage struct {
	v1.Image
	t *testing.T
}

func (i storedPlainImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	for n, l := range ls {
		ls[n] = storedPlain{Layer: l, t: i.t}
	}
	return ls, err
}

// TestStoredUncompressedLayersAreNotCompressed: both sources read a layer
// its source keeps uncompressed (a docker save archive) through
// Uncompressed, and catalog the same.
func TestStoredUncompressedLayersAreNotCompressed(t *testing.T) {
	img := vulnfixture.GateImage(t)
	ctx := context.Background()
	want, err := Generate(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range [][]Option{nil, {WithStereoscope()}} {
		got, err := Generate(ctx, storedPlainImage{Image: img, t: t}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := got.SBOM.Artifacts.Packages.PackageCount(), want.SBOM.Artifacts.Packages.PackageCount(); a != b || a == 0 {
			t.Fatalf("%d packages, want %d", a, b)
		}
	}
}
