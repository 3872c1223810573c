package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/sealyard/sealyard/internal/atomicfile"
)

// Write stores a at dest, a reference of scheme oci-dir, oci-archive,
// docker-archive or docker. Files are staged next to their destination and
// renamed into place only once complete. Pushing to a registry is the job of
// the publish package.
func Write(ctx context.Context, a Artifact, dest string, opts ...Option) error {
	r, err := ParseRef(dest)
	if err != nil {
		return err
	}
	if r.Scheme == Registry && !hasScheme(dest, Registry) {
		return fmt.Errorf("%w %q: name an output with oci-dir:, oci-archive:, docker-archive: or docker: (push to a registry with sealyard push)", ErrBadReference, dest)
	}
	o, err := makeOptions(opts)
	if err != nil {
		return err
	}
	switch r.Scheme {
	case OCIDir:
		return writeLayoutDir(a, r.Path, o)
	case OCIArchive:
		return writeLayoutArchive(a, r.Path, o)
	case DockerArchive:
		img, err := single(a, r)
		if err != nil {
			return err
		}
		return writeDockerArchive(img, r.Path, o)
	case Docker:
		img, err := single(a, r)
		if err != nil {
			return err
		}
		tag, ok := r.Name.(name.Tag)
		if !ok {
			return fmt.Errorf("%w %q: loading into Docker needs a tag, not a digest", ErrBadReference, dest)
		}
		if _, err := daemon.Write(tag, img, daemon.WithContext(ctx)); err != nil {
			return fmt.Errorf("loading image into Docker as %q: %w", tag, err)
		}
		return nil
	default:
		return fmt.Errorf("%w %q: cannot write to %s (push to a registry with sealyard push)", ErrBadReference, dest, r.Scheme)
	}
}

func hasScheme(s string, sc Scheme) bool {
	return len(s) > len(sc) && s[:len(sc)+1] == string(sc)+":"
}

func single(a Artifact, r Ref) (v1.Image, error) {
	img, ok := a.(v1.Image)
	if !ok {
		return nil, fmt.Errorf("%s holds one image, and this is a multi-platform index; pick one platform with --platform", r.Scheme)
	}
	return img, nil
}

// writeLayout writes a as the only entry of a new OCI layout at dir.
func writeLayout(a Artifact, dir string, o *options) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	var lopts []layout.Option
	if o.refName != "" {
		lopts = append(lopts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": o.refName}))
	}
	switch v := a.(type) {
	case v1.ImageIndex:
		return p.AppendIndex(v, lopts...)
	case v1.Image:
		return p.AppendImage(v, lopts...)
	default:
		return fmt.Errorf("unsupported artifact type %T", a)
	}
}

func writeLayoutDir(a Artifact, dest string, o *options) error {
	if fi, err := os.Stat(dest); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("oci-dir:%s exists and is not a directory", dest)
		}
		if !isLayoutOrEmpty(dest) {
			return fmt.Errorf("oci-dir:%s exists and is not an OCI layout; refusing to replace it", dest)
		}
	}
	stage, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dest)), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return fmt.Errorf("staging oci-dir:%s: %w", dest, err)
	}
	defer os.RemoveAll(stage)
	if err := writeLayout(a, stage, o); err != nil {
		return fmt.Errorf("writing oci-dir:%s: %w", dest, err)
	}
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	return replaceDir(stage, dest)
}

func isLayoutOrEmpty(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	if len(entries) == 0 {
		return true
	}
	_, err = os.Stat(filepath.Join(dir, "oci-layout"))
	return err == nil
}

// replaceDir moves stage to dest, replacing an existing dest.
func replaceDir(stage, dest string) error {
	old := ""
	if _, err := os.Stat(dest); err == nil {
		old = stage + ".old"
		if err := os.Rename(dest, old); err != nil {
			return err
		}
	}
	if err := os.Rename(stage, dest); err != nil {
		if old != "" {
			_ = os.Rename(old, dest)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

func writeLayoutArchive(a Artifact, dest string, o *options) error {
	stage, err := os.MkdirTemp(o.tempDir, "sealyard-layout-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if err := writeLayout(a, stage, o); err != nil {
		return fmt.Errorf("writing oci-archive:%s: %w", dest, err)
	}
	return atomicfile.Write(dest, 0o644, func(w io.Writer) error { return tarDir(stage, w) })
}

// tarDir writes the files under dir as a tar stream in a fixed order with
// fixed metadata, so the same layout gives the same bytes.
func tarDir(dir string, w io.Writer) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	for _, f := range files {
		for d := filepath.ToSlash(filepath.Dir(f)); d != "." && !dirs[d]; d = filepath.ToSlash(filepath.Dir(d)) {
			dirs[d] = true
		}
	}
	var dirList []string
	for d := range dirs {
		dirList = append(dirList, d)
	}
	sort.Strings(dirList)
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := addFile(tw, filepath.Join(dir, filepath.FromSlash(f)), f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func addFile(tw *tar.Writer, src, name string) error {
	fh, err := os.Open(src)
	if err != nil {
		return err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: fi.Size(), Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
		return err
	}
	_, err = io.Copy(tw, fh)
	return err
}

func writeDockerArchive(img v1.Image, dest string, o *options) error {
	var ref name.Reference
	if o.refName != "" {
		t, err := name.NewTag(o.refName)
		if err != nil {
			return fmt.Errorf("docker-archive tag %q: %w", o.refName, err)
		}
		ref = t
	} else {
		d, err := img.Digest()
		if err != nil {
			return err
		}
		// A digest reference writes no RepoTags: docker load keeps it untagged.
		ref, err = name.NewDigest("sealyard.invalid/image@" + d.String())
		if err != nil {
			return err
		}
	}
	return atomicfile.Write(dest, 0o644, func(w io.Writer) error {
		return tarball.MultiRefWrite(map[name.Reference]v1.Image{ref: img}, w)
	})
}
