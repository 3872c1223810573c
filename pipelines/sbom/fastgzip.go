package sbom

import (
	"bufio"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	kgzip "github.com/klauspost/compress/gzip"
)

// fastGzipImage hands stereoscope layers that decompress gzip with
// klauspost/compress, about a fifth faster than the standard library on
// large layers (the one decompression pass of cataloging). Other layers,
// and everything but Layers, are the image's own.
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

// Uncompressed decompresses the stored blob when it is gzip. A layer whose
// blob is stored uncompressed would be compressed by Compressed, so only
// gzip media types of layers not known to be stored uncompressed take this
// path, and only after the gzip magic is seen.
func (l fastGzipLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.uncompressed()
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

func (l fastGzipLayer) uncompressed() (io.ReadCloser, error) {
	if s, ok := l.Layer.(storedUncompressed); ok && s.StoredUncompressed() {
		// Its blob would be compressed only to be decompressed here.
		return l.Layer.Uncompressed()
	}
	mt, err := l.MediaType()
	if err != nil || (mt != types.DockerLayer && mt != types.OCILayer) {
		return l.Layer.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 1<<20)
	if magic, err := br.Peek(2); err != nil || magic[0] != 0x1f || magic[1] != 0x8b {
		rc.Close()
		return l.Layer.Uncompressed()
	}
	zr, err := kgzip.NewReader(br)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &gzipReadCloser{zr: zr, under: rc}, nil
}

// storedUncompressed is a layer whose source keeps its bytes uncompressed
// (image.Load's layers of a docker save archive say so).
type storedUncompressed interface {
	StoredUncompressed() bool
}

type gzipReadCloser struct {
	zr    *kgzip.Reader
	under io.Closer
}

func (g *gzipReadCloser) Read(p []byte) (int, error) { return g.zr.Read(p) }

func (g *gzipReadCloser) Close() error {
	err := g.zr.Close()
	if cerr := g.under.Close(); err == nil {
		err = cerr
	}
	return err
}
