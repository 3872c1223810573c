package sbom

import (
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/image"
)

// fastGzipImage hands stereoscope layers whose Uncompressed is
// image.Contents (klauspost gzip; layers stored uncompressed read as
// they are), for the one decompression pass of cataloging. Everything
// but Layers is the image's own.
//
// Every layer's uncompressed stream is also bounded (see limits.go).
type fastGzipImage struct {
	v1.Image
	maxBytes   int64
	maxEntries int
}

func (i fastGzipImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = i.layer(l)
	}
	return out, nil
}

func (i fastGzipImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return i.layer(l), nil
}

func (i fastGzipImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return i.layer(l), nil
}

func (i fastGzipImage) layer(l v1.Layer) fastGzipLayer {
	maxBytes, maxEntries := i.maxBytes, i.maxEntries
	if maxBytes <= 0 {
		maxBytes = DefaultMaxLayerBytes
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxLayerEntries
	}
	return fastGzipLayer{Layer: l, maxBytes: maxBytes, maxEntries: maxEntries}
}

type fastGzipLayer struct {
	v1.Layer
	maxBytes   int64
	maxEntries int
}

// Uncompressed is image.Contents, bounded.
func (l fastGzipLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := image.Contents(l.Layer)
	if err != nil {
		return nil, err
	}
	return newLimitedReader(rc, l.name(), l.maxBytes, l.maxEntries), nil
}

// name is how errors name the layer.
func (l fastGzipLayer) name() string {
	if d, err := l.Digest(); err == nil {
		return "layer " + d.String()
	}
	return "layer"
}
