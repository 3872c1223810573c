package build

import (
	"archive/tar"
	"bytes"
	"io"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// tarWriter writes layer entries with fixed ownership and timestamps, adding
// parent directories once each.
type tarWriter struct {
	tw      *tar.Writer
	modTime time.Time
	dirs    map[string]bool
}

func newTarWriter(w io.Writer, modTime time.Time) *tarWriter {
	return &tarWriter{tw: tar.NewWriter(w), modTime: modTime, dirs: map[string]bool{}}
}

// parents adds directory entries for every parent of p (an absolute image path).
func (t *tarWriter) parents(p string) error {
	dir := path.Dir(p)
	if dir == "/" || dir == "." || t.dirs[dir] {
		return nil
	}
	if err := t.parents(dir); err != nil {
		return err
	}
	return t.dir(dir, 0o755)
}

func (t *tarWriter) dir(p string, mode int64) error {
	t.dirs[p] = true
	return t.tw.WriteHeader(t.header(p+"/", tar.TypeDir, mode, 0))
}

func (t *tarWriter) file(p string, mode int64, size int64, r io.Reader) error {
	if err := t.tw.WriteHeader(t.header(p, tar.TypeReg, mode, size)); err != nil {
		return err
	}
	_, err := io.Copy(t.tw, r)
	return err
}

func (t *tarWriter) symlink(p, target string) error {
	h := t.header(p, tar.TypeSymlink, 0o777, 0)
	h.Linkname = target
	return t.tw.WriteHeader(h)
}

func (t *tarWriter) header(p string, typ byte, mode, size int64) *tar.Header {
	return &tar.Header{
		Typeflag: typ,
		Name:     strings.TrimPrefix(p, "/"),
		Mode:     mode,
		Size:     size,
		ModTime:  t.modTime,
		// Uid, Gid 0 and no user or group names: the layer does not depend
		// on who built it.
	}
}

func (t *tarWriter) Close() error { return t.tw.Close() }

// memoryLayer wraps an uncompressed tar held in memory. go-containerregistry
// compresses it with a fixed gzip level, so the digest depends only on data.
func memoryLayer(data []byte, mt types.MediaType) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(mt))
}
