package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// safeName cleans a tar entry name and rejects names that would escape the
// directory they are unpacked into.
func safeName(n string) (string, error) {
	if n == "" {
		return "", errors.New("entry with an empty name")
	}
	if strings.ContainsRune(n, 0) {
		return "", fmt.Errorf("entry %q has a NUL byte in its name", n)
	}
	if strings.HasPrefix(n, "/") || filepath.IsAbs(n) {
		return "", fmt.Errorf("entry %q has an absolute path", n)
	}
	for _, part := range strings.Split(strings.ReplaceAll(n, "\\", "/"), "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q escapes the archive (path traversal)", n)
		}
	}
	c := path.Clean(n)
	if c == "." {
		return "", nil
	}
	return c, nil
}

// walkTar reads every header of the archive at p, checking names, types and
// sizes against o's limits, and calls fn for each regular file with a reader
// for its contents (fn may leave it unread). It reads to the end, so a
// truncated archive is an error. With links, symbolic links are passed to fn
// too (docker save links identical layers) provided they stay inside the
// archive; without, they are an error.
func walkTar(ctx context.Context, p string, o *options, links bool, fn func(name string, hdr *tar.Header, r io.Reader) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: is a directory, not a tar archive", ErrInvalidImage)
	}
	if fi.Size() > o.maxTotal {
		return fmt.Errorf("%w: archive is %d bytes, over the %d byte limit", ErrInvalidImage, fi.Size(), o.maxTotal)
	}
	tr := tar.NewReader(f)
	var total int64
	entries := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if entries == 0 {
				return fmt.Errorf("%w: empty or not a tar archive", ErrInvalidImage)
			}
			return nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: archive is truncated", ErrInvalidImage)
			}
			return fmt.Errorf("%w: not a valid tar archive: %w", ErrInvalidImage, err)
		}
		entries++
		if entries > o.maxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrInvalidImage, o.maxEntries)
		}
		name, err := safeName(hdr.Name)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidImage, err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives still use TypeRegA
		case tar.TypeXGlobalHeader:
			continue
		case tar.TypeSymlink:
			if !links {
				return fmt.Errorf("%w: entry %q is a symlink, only files and directories are allowed", ErrInvalidImage, hdr.Name)
			}
			if _, err := linkTarget(name, hdr.Linkname); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidImage, err)
			}
			if err := fn(name, hdr, nil); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("%w: entry %q is a %s, only files and directories are allowed", ErrInvalidImage, hdr.Name, typeName(hdr.Typeflag))
		}
		if hdr.Size < 0 || hdr.Size > o.maxEntry {
			return fmt.Errorf("%w: entry %q claims %d bytes, over the %d byte limit", ErrInvalidImage, hdr.Name, hdr.Size, o.maxEntry)
		}
		total += hdr.Size
		if total > o.maxTotal || total > fi.Size() {
			return fmt.Errorf("%w: entries claim more bytes than the archive holds (truncated or forged sizes)", ErrInvalidImage)
		}
		if name == "" {
			continue
		}
		cr := &countingReader{r: tr}
		if err := fn(name, hdr, cr); err != nil {
			return err
		}
		// Read what fn left so truncation inside the entry is seen.
		if _, err := io.Copy(io.Discard, cr); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: archive is truncated inside %q", ErrInvalidImage, hdr.Name)
			}
			return fmt.Errorf("%w: reading %q: %w", ErrInvalidImage, hdr.Name, err)
		}
		if cr.n != hdr.Size {
			return fmt.Errorf("%w: archive is truncated inside %q", ErrInvalidImage, hdr.Name)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// linkTarget resolves a symlink's target relative to the link's directory and
// rejects targets outside the archive.
func linkTarget(name, target string) (string, error) {
	if strings.HasPrefix(target, "/") {
		return "", fmt.Errorf("symlink %q points to an absolute path", name)
	}
	t := path.Join(path.Dir(name), target)
	if t == ".." || strings.HasPrefix(t, "../") {
		return "", fmt.Errorf("symlink %q points outside the archive (path traversal)", name)
	}
	return t, nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device"
	case tar.TypeFifo:
		return "fifo"
	default:
		return fmt.Sprintf("entry of type %q", t)
	}
}

// extractOCIArchive unpacks a tar of an OCI layout into a new temporary
// directory, which the caller removes.
func extractOCIArchive(ctx context.Context, p string, o *options) (string, error) {
	dir, err := os.MkdirTemp(o.tempDir, "sealyard-oci-*")
	if err != nil {
		return "", err
	}
	err = walkTar(ctx, p, o, false, func(name string, hdr *tar.Header, r io.Reader) error {
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("%w: entry %q appears twice", ErrInvalidImage, hdr.Name)
			}
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("oci-archive %q: %w", p, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("oci-archive %q: %w: no index.json, so not an OCI layout (for a docker save archive use docker-archive:)", p, ErrInvalidImage)
	}
	return dir, nil
}

// dockerManifest is one entry of a docker save archive's manifest.json.
type dockerManifest struct {
	Config       string
	RepoTags     []string
	Layers       []string
	LayerSources map[string]json.RawMessage `json:",omitempty"`
}

// archiveLayers is what checkDockerArchive learns of an archive's layers.
type archiveLayers struct {
	// uncompressed: the layers are stored uncompressed, as
	// go-containerregistry decides it (by the first layer's leading
	// bytes); their blobs, and so the manifest, are made by compressing
	// them.
	uncompressed bool
	// foreign: some layers have descriptors of their own (URLs).
	foreign bool
}

// checkDockerArchive checks a docker save archive: safe entries, complete,
// and every file manifest.json names present.
// It also says how the layers are stored.
func checkDockerArchive(p string, o *options) (layers archiveLayers, err error) {
	present := map[string]bool{}
	symlinks := map[string]string{}
	compressed := map[string]bool{}
	var manifest []dockerManifest
	err = walkTar(context.Background(), p, o, true, func(name string, hdr *tar.Header, r io.Reader) error {
		if hdr.Typeflag == tar.TypeSymlink {
			symlinks[name], _ = linkTarget(name, hdr.Linkname)
			return nil
		}
		present[name] = true
		if hdr.Typeflag == tar.TypeReg {
			var head [4]byte
			n, _ := io.ReadFull(r, head[:])
			compressed[name] = isCompressed(head[:n])
			r = io.MultiReader(bytes.NewReader(head[:n]), r)
		}
		if name == "manifest.json" {
			if hdr.Size > 16<<20 {
				return fmt.Errorf("%w: manifest.json is %d bytes", ErrInvalidImage, hdr.Size)
			}
			if err := json.NewDecoder(r).Decode(&manifest); err != nil {
				return fmt.Errorf("%w: manifest.json: %w", ErrInvalidImage, err)
			}
		}
		return nil
	})
	if err != nil {
		return archiveLayers{}, err
	}
	if !present["manifest.json"] {
		if present["index.json"] {
			return archiveLayers{}, fmt.Errorf("%w: no manifest.json; this looks like an OCI layout, use oci-archive:", ErrInvalidImage)
		}
		return archiveLayers{}, fmt.Errorf("%w: no manifest.json (not a docker save archive)", ErrInvalidImage)
	}
	switch len(manifest) {
	case 0:
		return archiveLayers{}, fmt.Errorf("%w: manifest.json lists no images", ErrInvalidImage)
	case 1:
	default:
		return archiveLayers{}, fmt.Errorf("%w: archive holds %d images; save one image per archive", ErrInvalidImage, len(manifest))
	}
	m := manifest[0]
	for _, f := range append([]string{m.Config}, m.Layers...) {
		n, err := safeName(f)
		if err != nil {
			return archiveLayers{}, fmt.Errorf("%w: manifest.json: %w", ErrInvalidImage, err)
		}
		for i := 0; i < 8 && symlinks[n] != ""; i++ {
			n = symlinks[n]
		}
		if !present[n] {
			return archiveLayers{}, fmt.Errorf("%w: manifest.json names %q, which the archive does not hold (missing layer or config)", ErrInvalidImage, f)
		}
	}
	if len(m.Layers) == 0 {
		return archiveLayers{foreign: len(m.LayerSources) > 0}, nil
	}
	first, _ := safeName(m.Layers[0])
	for i := 0; i < 8 && symlinks[first] != ""; i++ {
		first = symlinks[first]
	}
	return archiveLayers{uncompressed: !compressed[first], foreign: len(m.LayerSources) > 0}, nil
}

// isCompressed reports whether a blob begins as gzip or zstd does.
func isCompressed(head []byte) bool {
	return bytes.HasPrefix(head, []byte{0x1f, 0x8b}) || bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd})
}
