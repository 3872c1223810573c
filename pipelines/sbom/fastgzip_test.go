package sbom

import (
	"bytes"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
