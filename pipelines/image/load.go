package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// ErrInvalidImage is wrapped by errors about the content of an image source:
// a corrupt or truncated archive, unsafe paths, a missing blob, a platform
// the image does not have.
var ErrInvalidImage = errors.New("invalid image")

// Loaded is an artifact together with whatever must stay alive while it is
// read (an unpacked archive). Close releases it.
type Loaded struct {
	// Ref is where the artifact came from.
	Ref Ref
	// Artifact is a v1.Image or a v1.ImageIndex.
	Artifact Artifact

	cleanup func() error
}

// Close releases temporary files behind the artifact.
func (l *Loaded) Close() error {
	if l == nil || l.cleanup == nil {
		return nil
	}
	c := l.cleanup
	l.cleanup = nil
	return c()
}

// OnClose adds f to what Close releases (after the artifact's own files).
func (l *Loaded) OnClose(f func()) {
	prev := l.cleanup
	l.cleanup = func() error {
		var err error
		if prev != nil {
			err = prev()
		}
		f()
		return err
	}
}

// Load resolves ref (see ParseRef) to an image or index.
func Load(ctx context.Context, ref string, opts ...Option) (*Loaded, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	return LoadRef(ctx, r, opts...)
}

// LoadRef is Load for a parsed reference.
func LoadRef(ctx context.Context, r Ref, opts ...Option) (*Loaded, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Ref: r}
	switch r.Scheme {
	case OCIDir:
		l.Artifact, err = loadLayout(r.Path, r.String())
	case OCIArchive:
		var dir string
		dir, err = extractOCIArchive(ctx, r.Path, o)
		if err == nil {
			l.cleanup = func() error { return os.RemoveAll(dir) }
			l.Artifact, err = loadLayout(dir, r.String())
		}
	case DockerArchive:
		l.Artifact, l.cleanup, err = loadDockerArchive(r.Path, o)
	case Docker:
		l.Artifact, l.cleanup, err = loadDaemon(ctx, r.Name, o)
	case Registry:
		l.Artifact, err = loadRemote(ctx, r.Name, o)
	default:
		err = fmt.Errorf("%w: unknown scheme %q", ErrBadReference, r.Scheme)
	}
	if err == nil {
		l.Artifact, err = selectPlatforms(l.Artifact, o.platforms)
		if err != nil {
			err = fmt.Errorf("%s: %w", r, err)
		}
	}
	if err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// loadLayout reads an OCI image layout. A layout naming one manifest yields
// that image or index; a layout naming several yields the layout's index.
func loadLayout(dir, display string) (Artifact, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", display, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w: not a directory", display, ErrInvalidImage)
	}
	p := layout.Path(dir)
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", display, ErrInvalidImage, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", display, ErrInvalidImage, err)
	}
	if len(im.Manifests) == 0 {
		return nil, fmt.Errorf("%s: %w: index.json lists no manifests", display, ErrInvalidImage)
	}
	// index.json is not content-addressed; everything it names is, and is
	// checked against the digest that names it.
	vidx, err := verifiedIndexOf(idx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", display, err)
	}
	var a Artifact = vidx
	if len(im.Manifests) == 1 {
		d := im.Manifests[0]
		switch {
		case d.MediaType.IsIndex():
			a, err = vidx.ImageIndex(d.Digest)
		case d.MediaType.IsImage():
			a, err = vidx.Image(d.Digest)
		default:
			err = fmt.Errorf("unsupported media type %q", d.MediaType)
		}
		if errors.Is(err, ErrInvalidImage) {
			return nil, fmt.Errorf("%s: %w", display, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %w", display, ErrInvalidImage, err)
		}
	}
	if err := checkLayoutBlobs(p, a); err != nil {
		if errors.Is(err, ErrInvalidImage) {
			return nil, fmt.Errorf("%s: %w", display, err)
		}
		return nil, fmt.Errorf("%s: %w: %w", display, ErrInvalidImage, err)
	}
	return a, nil
}

// checkLayoutBlobs checks that every blob a needs is present with the size
// its descriptor gives, so a missing layer fails now rather than halfway
// through a push.
func checkLayoutBlobs(p layout.Path, a Artifact) error {
	imgs, err := Images(a)
	if err != nil {
		return err
	}
	for _, pi := range imgs {
		m, err := pi.Image.Manifest()
		if err != nil {
			return err
		}
		descs := append([]v1.Descriptor{m.Config}, m.Layers...)
		for _, d := range descs {
			fi, err := os.Stat(string(p) + "/blobs/" + d.Digest.Algorithm + "/" + d.Digest.Hex)
			if err != nil {
				return fmt.Errorf("blob %s is missing", d.Digest)
			}
			if fi.Size() != d.Size {
				return fmt.Errorf("blob %s is %d bytes, its descriptor says %d", d.Digest, fi.Size(), d.Size)
			}
		}
	}
	return nil
}

func loadDockerArchive(path string, o *options) (Artifact, func() error, error) {
	v, cleanup, err := readDockerArchive(path, o)
	if err != nil {
		return nil, nil, fmt.Errorf("docker-archive %q: %w", path, err)
	}
	return v, cleanup, nil
}

// readDockerArchive reads a checked docker save archive. Layers stored
// uncompressed are compressed once, into files cleanup removes.
func readDockerArchive(path string, o *options) (_ *verifiedImage, cleanup func() error, err error) {
	layers, err := checkDockerArchive(path, o)
	if err != nil {
		return nil, nil, err
	}
	var img v1.Image
	img, err = tarball.ImageFromPath(path, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidImage, err)
	}
	cleanup = func() error { return nil }
	if layers.uncompressed && !layers.foreign {
		img, cleanup, err = compressOnce(img, o.tempDir)
	} else {
		_, err = img.Manifest()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidImage, err)
	}
	v, err := verifiedImageOf(img)
	if err != nil {
		_ = cleanup()
		return nil, nil, err
	}
	v.storedUncompressed = layers.uncompressed
	return v, cleanup, nil
}

// loadDaemon has the Docker daemon save the image (docker save) to a
// temporary file, up to the archive size limit, and reads that as a
// docker save archive, with the same checks. The file is removed when
// the image is closed (cleanup).
func loadDaemon(ctx context.Context, ref name.Reference, o *options) (a Artifact, cleanup func() error, err error) {
	fail := func(err error) (Artifact, func() error, error) {
		return nil, nil, fmt.Errorf("docker image %q: %w", ref, err)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return fail(err)
	}
	defer cli.Close()
	rc, err := cli.ImageSave(ctx, []string{ref.Name()})
	if err != nil {
		return fail(err)
	}
	defer rc.Close()
	f, err := os.CreateTemp(o.tempDir, "sealyard-docker-*.tar")
	if err != nil {
		return fail(err)
	}
	removeSaved := func() error { return os.Remove(f.Name()) }
	n, err := io.Copy(f, io.LimitReader(rc, o.maxTotal+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > o.maxTotal {
		err = fmt.Errorf("%w: the saved image is over the %d byte archive limit", ErrInvalidImage, o.maxTotal)
	}
	var blobs func() error
	if err == nil {
		a, blobs, err = readDockerArchive(f.Name(), o)
	}
	if err != nil {
		_ = removeSaved()
		return fail(err)
	}
	return a, func() error { return errors.Join(blobs(), removeSaved()) }, nil
}

func loadRemote(ctx context.Context, ref name.Reference, o *options) (Artifact, error) {
	if o.registry.Insecure() {
		var err error
		if ref, err = name.ParseReference(ref.String(), name.Insecure); err != nil {
			return nil, err
		}
	}
	ropts := o.registry.RemoteOptions(ctx)
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("fetching %q: %w", ref, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("reading index %q: %w", ref, err)
		}
		return resumingIndex{idx}, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, fmt.Errorf("reading image %q: %w", ref, err)
	}
	return newResumingImage(img), nil
}

// selectPlatforms narrows a to the wanted platforms (none wanted: all).
func selectPlatforms(a Artifact, want []v1.Platform) (Artifact, error) {
	if len(want) == 0 {
		return a, nil
	}
	switch v := a.(type) {
	case v1.Image:
		imgs, err := Images(v)
		if err != nil {
			return nil, err
		}
		for _, w := range want {
			if matches(imgs[0].Platform, w) {
				return v, nil
			}
		}
		return nil, fmt.Errorf("%w: image is for %s, not %s", ErrInvalidImage, imgs[0].Platform.String(), platformList(want))
	case v1.ImageIndex:
		imgs, err := Images(v)
		if err != nil {
			return nil, err
		}
		var picked []PlatformImage
		for _, w := range want {
			found := false
			for _, pi := range imgs {
				if matches(pi.Platform, w) {
					picked = append(picked, pi)
					found = true
					break
				}
			}
			if !found {
				var have []v1.Platform
				for _, pi := range imgs {
					have = append(have, pi.Platform)
				}
				return nil, fmt.Errorf("%w: index has no %s (it has %s)", ErrInvalidImage, w.String(), platformList(have))
			}
		}
		if len(picked) == 1 {
			return picked[0].Image, nil
		}
		keep := map[v1.Hash]bool{}
		for _, pi := range picked {
			d, err := pi.Image.Digest()
			if err != nil {
				return nil, err
			}
			keep[d] = true
		}
		return mutate.RemoveManifests(v, func(d v1.Descriptor) bool { return !keep[d.Digest] }), nil
	default:
		return nil, fmt.Errorf("unsupported artifact type %T", a)
	}
}

func platformList(ps []v1.Platform) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += p.String()
	}
	return s
}
