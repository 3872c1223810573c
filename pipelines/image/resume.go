package image

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// readRetries is how many times a cut-short registry download is resumed.
const readRetries = 3

// resumingImage wraps a registry image so that a layer download cut short
// (a reset connection, a truncated body) is opened again and resumed
// after the bytes already read, instead of failing the stage. The new
// stream is verified against the layer digest as a whole, as every
// registry read is.
type resumingImage struct {
	v1.Image
	config *configCache
}

type configCache struct {
	mu  sync.Mutex
	raw []byte
}

func newResumingImage(img v1.Image) resumingImage {
	return resumingImage{Image: img, config: &configCache{}}
}

// RawConfigFile fetches the config, and fetches its blob again when the
// body is cut short. (go-containerregistry's remote image keeps the bytes
// of a cut-short read and returns them, unverified, from the next call;
// so a retry reads the blob itself, verified against its digest, and the
// good bytes are kept here.)
func (i resumingImage) RawConfigFile() ([]byte, error) {
	i.config.mu.Lock()
	defer i.config.mu.Unlock()
	if i.config.raw != nil {
		return i.config.raw, nil
	}
	b, err := i.Image.RawConfigFile()
	if err == nil {
		i.config.raw = b
		return b, nil
	}
	if !cutShort(err) {
		return nil, err
	}
	for try := 0; try < readRetries; try++ {
		var l v1.Layer
		if l, err = partial.ConfigLayer(i.Image); err != nil {
			return nil, err
		}
		var rc io.ReadCloser
		if rc, err = l.Compressed(); err != nil {
			continue
		}
		b, err = io.ReadAll(rc)
		rc.Close()
		if err == nil {
			i.config.raw = b
			return b, nil
		}
		if !cutShort(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("reading the image config: cut short %d times: %w", readRetries+1, err)
}

// ConfigFile parses the config RawConfigFile fetched.
func (i resumingImage) ConfigFile() (*v1.ConfigFile, error) {
	b, err := i.RawConfigFile()
	if err != nil {
		return nil, err
	}
	return v1.ParseConfigFile(bytes.NewReader(b))
}

func (i resumingImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = resumingLayer{l}
	}
	return out, nil
}

func (i resumingImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return resumingLayer{l}, nil
}

func (i resumingImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDiffID(h)
	if err != nil {
		return nil, err
	}
	return resumingLayer{l}, nil
}

type resumingLayer struct{ v1.Layer }

func (l resumingLayer) Compressed() (io.ReadCloser, error) {
	return newResumingReader(l.Layer.Compressed, l.Layer)
}

func (l resumingLayer) Uncompressed() (io.ReadCloser, error) {
	return newResumingReader(l.Layer.Uncompressed, l.Layer)
}

type resumingReader struct {
	open  func() (io.ReadCloser, error)
	layer v1.Layer
	rc    io.ReadCloser
	n     int64
	tries int
}

func newResumingReader(open func() (io.ReadCloser, error), l v1.Layer) (io.ReadCloser, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	return &resumingReader{open: open, layer: l, rc: rc}, nil
}

func (r *resumingReader) Read(p []byte) (int, error) {
	for {
		n, err := r.rc.Read(p)
		r.n += int64(n)
		if err == nil || errors.Is(err, io.EOF) || n > 0 || !cutShort(err) || r.tries >= readRetries {
			if err != nil && cutShort(err) && r.tries >= readRetries {
				d, _ := r.layer.Digest()
				return n, fmt.Errorf("reading layer %s: cut short %d times, last after %d bytes: %w", d, r.tries+1, r.n, err)
			}
			return n, err
		}
		r.tries++
		r.rc.Close()
		rc, oerr := r.open()
		if oerr != nil {
			return 0, oerr
		}
		if _, serr := io.CopyN(io.Discard, rc, r.n); serr != nil {
			rc.Close()
			return 0, fmt.Errorf("resuming a layer download after %d bytes: %w", r.n, serr)
		}
		r.rc = rc
	}
}

func (r *resumingReader) Close() error { return r.rc.Close() }

// cutShort tells a body that ended early from a genuine error (a digest
// mismatch, for one, is not retried).
func cutShort(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || isConnReset(err)
}

func isConnReset(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	s := err.Error()
	for _, m := range []string{"unexpected EOF", "connection reset", "broken pipe", "use of closed network connection"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// resumingIndex hands out resuming images.
type resumingIndex struct{ inner v1.ImageIndex }

func (x resumingIndex) MediaType() (types.MediaType, error)       { return x.inner.MediaType() }
func (x resumingIndex) Digest() (v1.Hash, error)                  { return x.inner.Digest() }
func (x resumingIndex) Size() (int64, error)                      { return x.inner.Size() }
func (x resumingIndex) IndexManifest() (*v1.IndexManifest, error) { return x.inner.IndexManifest() }
func (x resumingIndex) RawManifest() ([]byte, error)              { return x.inner.RawManifest() }

func (x resumingIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.inner.Image(h)
	if err != nil {
		return nil, err
	}
	return newResumingImage(img), nil
}

func (x resumingIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := x.inner.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return resumingIndex{idx}, nil
}
