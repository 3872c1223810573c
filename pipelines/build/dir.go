package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type directory struct {
	src, dest string
}

// Directory copies the tree at src into the image at dest (an absolute
// path). Permissions and symlinks are kept; owners become root and
// timestamps the build time. The tree is read again whenever the layer is,
// so it must not change during the build.
func Directory(src, dest string) Source {
	return directory{src: src, dest: dest}
}

func (d directory) String() string { return "dir:" + d.src + ":" + d.dest }

func (d directory) layer(ctx context.Context, _ v1.Platform, o *options, mt types.MediaType) (layerResult, error) {
	if !path.IsAbs(d.dest) {
		return layerResult{}, fmt.Errorf("directory %q: destination %q must be an absolute path", d.src, d.dest)
	}
	fi, err := os.Stat(d.src)
	if err != nil {
		return layerResult{}, fmt.Errorf("directory %q: %w", d.src, err)
	}
	if !fi.IsDir() {
		return layerResult{}, fmt.Errorf("directory %q: not a directory", d.src)
	}
	// Walk once now so errors (special files) surface at build time.
	if err := d.write(ctx, io.Discard, o); err != nil {
		return layerResult{}, err
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(d.write(context.Background(), pw, o)) }()
		return pr, nil
	}, tarball.WithMediaType(mt))
	if err != nil {
		return layerResult{}, err
	}
	return layerResult{layer: l, createdBy: "sealyard build dir -> " + path.Clean(d.dest)}, nil
}

func (d directory) write(ctx context.Context, w io.Writer, o *options) error {
	tw := newTarWriter(w, o.created)
	dest := path.Clean(d.dest)
	if dest != "/" {
		if err := tw.parents(dest); err != nil {
			return err
		}
		if err := tw.dir(dest, 0o755); err != nil {
			return err
		}
	}
	err := filepath.WalkDir(d.src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(d.src, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		target := path.Join(dest, filepath.ToSlash(rel))
		info, err := e.Info()
		if err != nil {
			return err
		}
		mode := int64(info.Mode().Perm())
		switch {
		case e.IsDir():
			return tw.dir(target, mode)
		case e.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.symlink(target, link)
		case e.Type().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return tw.file(target, mode, info.Size(), f)
		default:
			return fmt.Errorf("%q is a %s; only files, directories and symlinks go into a layer", p, info.Mode().Type())
		}
	})
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("directory %q: %w", d.src, err)
		}
		return err
	}
	return tw.Close()
}
