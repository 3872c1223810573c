package image

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// compressedOnce is the image of a docker save archive whose layers are
// stored uncompressed, with every layer compressed once, the layers side
// by side, into a temporary file. go-containerregistry names such a layer
// in the manifest by compressing it, one layer after another, and
// compresses it again to push it; here the blob is made once and kept.
// The compression is go-containerregistry's own, so the manifest, and
// the image's digest, are the ones it gives (TestCompressedOnceDigest).
type compressedOnce struct {
	v1.Image // the archive's image: config, and each layer's contents
	raw      []byte
	manifest *v1.Manifest
	layers   []*compressedFile
}

// compressedFile is a stored-uncompressed layer with its blob in a file.
type compressedFile struct {
	v1.Layer // the archive's layer: Uncompressed, DiffID, MediaType
	path     string
	digest   v1.Hash
	size     int64
}

func (l *compressedFile) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *compressedFile) Size() (int64, error)     { return l.size, nil }

// Compressed reads the blob made when the image was loaded.
func (l *compressedFile) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }

// compressOnce compresses img's layers into files under a new directory
// of tempDir, which cleanup removes.
func compressOnce(img v1.Image, tempDir string) (_ *compressedOnce, cleanup func() error, err error) {
	dir, err := os.MkdirTemp(tempDir, "sealyard-blobs-*")
	if err != nil {
		return nil, nil, err
	}
	cleanup = func() error { return os.RemoveAll(dir) }
	defer func() {
		if err != nil {
			_ = cleanup()
		}
	}()
	ls, err := img.Layers()
	if err != nil {
		return nil, nil, err
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, nil, err
	}
	c := &compressedOnce{Image: img, layers: make([]*compressedFile, len(ls))}
	errs := make([]error, len(ls))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c.layers[i], errs[i] = compressLayer(l, filepath.Join(dir, fmt.Sprint(i)))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	// The manifest go-containerregistry writes for such an image.
	m := &v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config: v1.Descriptor{
			MediaType: types.DockerConfigJSON,
			Size:      int64(len(rawConfig)),
			Digest:    v1.Hash{Algorithm: "sha256", Hex: sha256Hex(rawConfig)},
		},
		Layers: make([]v1.Descriptor, len(ls)),
	}
	for i, l := range c.layers {
		mt, err := l.MediaType()
		if err != nil {
			return nil, nil, err
		}
		m.Layers[i] = v1.Descriptor{MediaType: mt, Size: l.size, Digest: l.digest}
	}
	if c.raw, err = json.Marshal(m); err != nil {
		return nil, nil, err
	}
	c.manifest = m
	return c, cleanup, nil
}

func compressLayer(l v1.Layer, path string) (*compressedFile, error) {
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return &compressedFile{Layer: l, path: path, size: n, digest: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}, nil
}

func (c *compressedOnce) MediaType() (types.MediaType, error) {
	return types.DockerManifestSchema2, nil
}
func (c *compressedOnce) RawManifest() ([]byte, error)    { return c.raw, nil }
func (c *compressedOnce) Manifest() (*v1.Manifest, error) { return c.manifest.DeepCopy(), nil }
func (c *compressedOnce) Size() (int64, error)            { return int64(len(c.raw)), nil }

func (c *compressedOnce) Digest() (v1.Hash, error) {
	return v1.Hash{Algorithm: "sha256", Hex: sha256Hex(c.raw)}, nil
}

func (c *compressedOnce) Layers() ([]v1.Layer, error) {
	out := make([]v1.Layer, len(c.layers))
	for i, l := range c.layers {
		out[i] = l
	}
	return out, nil
}

func (c *compressedOnce) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	for _, l := range c.layers {
		if l.digest == h {
			return l, nil
		}
	}
	if h == c.manifest.Config.Digest {
		return c.Image.LayerByDigest(h)
	}
	return nil, fmt.Errorf("%w: no layer %s", ErrInvalidImage, h)
}

func (c *compressedOnce) LayerByDiffID(h v1.Hash) (v1.Layer, error) {
	for _, l := range c.layers {
		if d, err := l.DiffID(); err == nil && d == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("%w: no layer with diff_id %s", ErrInvalidImage, h)
}
