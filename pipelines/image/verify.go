package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrDigestMismatch is wrapped (with ErrInvalidImage) when a blob's bytes
// do not hash to the digest that names it: a manifest, a config, a layer,
// or a layer's uncompressed content against its diff_id.
var ErrDigestMismatch = errors.New("digest mismatch")

// verified wraps an artifact read from local files (an OCI layout or
// archive, a docker save archive, the Docker daemon) so every blob it
// hands out is checked against its digest: the manifest now, the config
// when it is read, each layer as it streams (compressed bytes against the
// manifest's digest, uncompressed bytes against the config's diff_id).
// What the gate judges and what gets signed is then what the digest names.
// Registry reads are verified by go-containerregistry itself.
func verified(a Artifact) (Artifact, error) {
	switch v := a.(type) {
	case v1.Image:
		return verifiedImageOf(v)
	case v1.ImageIndex:
		return verifiedIndexOf(v)
	default:
		return nil, fmt.Errorf("unsupported artifact type %T", a)
	}
}

func checkManifest(raw []byte, want v1.Hash, what string) error {
	if want.Algorithm != "sha256" {
		return fmt.Errorf("%w: %s %s: unsupported digest algorithm", ErrInvalidImage, what, want)
	}
	if got := sha256Hex(raw); got != want.Hex {
		return fmt.Errorf("%w: %w: %s %s: its bytes hash to sha256:%s", ErrInvalidImage, ErrDigestMismatch, what, want, got)
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type verifiedImage struct {
	v1.Image
	manifest *v1.Manifest
	// storedUncompressed: the source keeps the layers uncompressed (see
	// verifiedLayer.StoredUncompressed).
	storedUncompressed bool
}

func verifiedImageOf(img v1.Image) (*verifiedImage, error) {
	if v, ok := img.(*verifiedImage); ok {
		return v, nil
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if err := checkManifest(raw, d, "manifest"); err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: manifest %s: %w", ErrInvalidImage, d, err)
	}
	return &verifiedImage{Image: img, manifest: m}, nil
}

// RawConfigFile checks the config against the manifest's descriptor.
func (i *verifiedImage) RawConfigFile() ([]byte, error) {
	raw, err := i.Image.RawConfigFile()
	if err != nil {
		return nil, err
	}
	want := i.manifest.Config
	if got := sha256Hex(raw); want.Digest.Algorithm != "sha256" || got != want.Digest.Hex {
		return nil, fmt.Errorf("%w: %w: config blob %s: its bytes hash to sha256:%s", ErrInvalidImage, ErrDigestMismatch, want.Digest, got)
	}
	if int64(len(raw)) != want.Size {
		return nil, fmt.Errorf("%w: config blob %s is %d bytes, its descriptor says %d", ErrInvalidImage, want.Digest, len(raw), want.Size)
	}
	return raw, nil
}

// ConfigFile parses the verified config.
func (i *verifiedImage) ConfigFile() (*v1.ConfigFile, error) {
	raw, err := i.RawConfigFile()
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: config blob %s is not an image config: %w", ErrInvalidImage, i.manifest.Config.Digest, err)
	}
	return cf, nil
}

// ConfigName is the config's digest, from the manifest.
func (i *verifiedImage) ConfigName() (v1.Hash, error) { return i.manifest.Config.Digest, nil }

// Layers wraps each layer with its expected digests.
func (i *verifiedImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := i.ConfigFile()
	if err != nil {
		return nil, err
	}
	if len(ls) != len(i.manifest.Layers) {
		return nil, fmt.Errorf("%w: the image has %d layers, its manifest lists %d", ErrInvalidImage, len(ls), len(i.manifest.Layers))
	}
	if len(cf.RootFS.DiffIDs) != len(ls) {
		return nil, fmt.Errorf("%w: the config lists %d diff_ids for %d layers", ErrInvalidImage, len(cf.RootFS.DiffIDs), len(ls))
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = &verifiedLayer{Layer: l, desc: i.manifest.Layers[n], diffID: cf.RootFS.DiffIDs[n], storedUncompressed: i.storedUncompressed}
	}
	return out, nil
}

// LayerByDigest returns the verified layer with compressed digest h.
func (i *verifiedImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	ls, err := i.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if l.(*verifiedLayer).desc.Digest == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%w: no layer %s", ErrInvalidImage, h)
}

// LayerByDiffID returns the verified layer with diff_id h.
func (i *verifiedImage) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	ls, err := i.Layers()
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if l.(*verifiedLayer).diffID == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%w: no layer with diff_id %s", ErrInvalidImage, h)
}

// verifiedLayer checks its bytes as they stream.
type verifiedLayer struct {
	v1.Layer
	desc               v1.Descriptor
	diffID             v1.Hash
	storedUncompressed bool
}

// StoredUncompressed reports that the source keeps the layer's bytes
// uncompressed (a docker save archive): Compressed makes the blob by
// compressing them, so a reader of the contents should call Uncompressed,
// whose bytes are checked against the diff_id the image's config (and so
// its digest) names.
func (l *verifiedLayer) StoredUncompressed() bool { return l.storedUncompressed }

func (l *verifiedLayer) Digest() (v1.Hash, error) { return l.desc.Digest, nil }
func (l *verifiedLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *verifiedLayer) Size() (int64, error)     { return l.desc.Size, nil }
func (l *verifiedLayer) MediaType() (types.MediaType, error) {
	return l.desc.MediaType, nil
}

// Compressed checks the bytes against the manifest's digest and size.
func (l *verifiedLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return newVerifyingReader(rc, l.desc.Digest, l.desc.Size, "layer blob")
}

// Uncompressed checks the bytes against the config's diff_id.
func (l *verifiedLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Uncompressed()
	if err != nil {
		return nil, err
	}
	return newVerifyingReader(rc, l.diffID, -1, "uncompressed layer (diff_id)")
}

// verifyingReader hashes what it reads and, at the end, fails instead of
// returning io.EOF when the content is not what its digest names.
type verifyingReader struct {
	io.ReadCloser
	h      hash.Hash
	want   v1.Hash
	size   int64
	n      int64
	what   string
	failed error
}

func newVerifyingReader(rc io.ReadCloser, want v1.Hash, size int64, what string) (io.ReadCloser, error) {
	if want.Algorithm != "sha256" {
		rc.Close()
		return nil, fmt.Errorf("%w: %s %s: unsupported digest algorithm", ErrInvalidImage, what, want)
	}
	return &verifyingReader{ReadCloser: rc, h: sha256.New(), want: want, size: size, what: what}, nil
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	if r.failed != nil {
		return 0, r.failed
	}
	n, err := r.ReadCloser.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if r.size >= 0 && r.n > r.size {
		r.failed = fmt.Errorf("%w: %s %s is longer than its descriptor's %d bytes", ErrInvalidImage, r.what, r.want, r.size)
		return n, r.failed
	}
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want.Hex {
			r.failed = fmt.Errorf("%w: %w: %s %s: its bytes hash to sha256:%s", ErrInvalidImage, ErrDigestMismatch, r.what, r.want, got)
			return n, r.failed
		}
		if r.size >= 0 && r.n != r.size {
			r.failed = fmt.Errorf("%w: %s %s is %d bytes, its descriptor says %d", ErrInvalidImage, r.what, r.want, r.n, r.size)
			return n, r.failed
		}
	}
	return n, err
}

type verifiedIndex struct {
	inner v1.ImageIndex
}

func (x *verifiedIndex) MediaType() (types.MediaType, error)       { return x.inner.MediaType() }
func (x *verifiedIndex) Digest() (v1.Hash, error)                  { return x.inner.Digest() }
func (x *verifiedIndex) Size() (int64, error)                      { return x.inner.Size() }
func (x *verifiedIndex) IndexManifest() (*v1.IndexManifest, error) { return x.inner.IndexManifest() }
func (x *verifiedIndex) RawManifest() ([]byte, error)              { return x.inner.RawManifest() }

func verifiedIndexOf(idx v1.ImageIndex) (v1.ImageIndex, error) {
	if _, ok := idx.(*verifiedIndex); ok {
		return idx, nil
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return nil, err
	}
	d, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	if err := checkManifest(raw, d, "index"); err != nil {
		return nil, err
	}
	return &verifiedIndex{inner: idx}, nil
}

// Image returns the verified image h; its manifest must hash to h.
func (x *verifiedIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := x.inner.Image(h)
	if err != nil {
		return nil, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	if err := checkManifest(raw, h, "manifest"); err != nil {
		return nil, err
	}
	return verifiedImageOf(img)
}

// ImageIndex returns the verified child index h.
func (x *verifiedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	child, err := x.inner.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	raw, err := child.RawManifest()
	if err != nil {
		return nil, err
	}
	if err := checkManifest(raw, h, "index"); err != nil {
		return nil, err
	}
	return verifiedIndexOf(child)
}
