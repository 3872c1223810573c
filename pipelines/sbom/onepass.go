package sbom

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/anchore/stereoscope/pkg/file"
	"github.com/anchore/stereoscope/pkg/filetree"
	"github.com/anchore/stereoscope/pkg/filetree/filenode"
	stimage "github.com/anchore/stereoscope/pkg/image"
	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/cataloging/filecataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	syftfile "github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"

	"github.com/sealyard/sealyard/pipelines/image"
)

// The one-pass image source. stereoscope (syft's image library)
// decompresses every layer to an uncompressed tar on disk, reads it back
// to index it, and serves file contents from it: each layer's bytes are
// written once and read at least twice. readOnePass reads each layer's
// stream once, all layers at once, and builds what stereoscope would
// build from it (file trees, the file index with MIME types, squashes)
// in memory, keeping file contents as it goes: small ones in memory,
// the rest in one temporary file. syft's own image resolvers then work
// over it unchanged, so the catalogers see the same files, links and
// metadata as through stereoscope (TestOnePassMatchesStereoscope).
//
// The index follows stereoscope's layer indexer rule for rule: an entry
// replaces an earlier entry at its path, a hard link takes the
// description and contents of the file it names in the same layer, and
// whiteouts and opaque directories are applied by stereoscope's squash.
// Windows images (whose hard links reach into lower layers) and
// SquashFS layers go through stereoscope.

// mimeReadLimit is how much of a file the MIME type detection reads
// (gabriel-vasile/mimetype's default limit, which stereoscope uses).
const mimeReadLimit = 4096

// memContentMax is the largest file kept in memory; larger ones go to
// the spill file. memContentBudget bounds the bytes kept in memory for
// one image; past it, small files spill too.
const (
	memContentMax    = 64 << 10
	memContentBudget = 64 << 20
)

// onePassSupported reports whether the one-pass source reads img the way
// stereoscope would: every layer a tar (possibly compressed), not a
// Windows image.
func onePassSupported(img v1.Image, cf *v1.ConfigFile) bool {
	if cf.OS == "windows" {
		return false
	}
	ls, err := img.Layers()
	if err != nil {
		return false
	}
	for _, l := range ls {
		mt, err := l.MediaType()
		if err != nil {
			return false
		}
		switch mt {
		case types.OCILayer, types.OCIUncompressedLayer, types.OCIRestrictedLayer, types.OCIUncompressedRestrictedLayer,
			types.OCILayerZStd, types.DockerLayer, types.DockerForeignLayer, types.DockerUncompressedLayer,
			stimage.BuildKitZstdCompressedLayer, stimage.BuildKitZstdCompressedLayerAlt:
		default:
			return false
		}
	}
	return true
}

// contentStore keeps file contents for the life of one cataloging.
type contentStore struct {
	dir string

	once     sync.Once
	spill    *os.File
	spillErr error
	next     atomic.Int64 // the spill file's next free offset
	memUsed  atomic.Int64
}

func (s *contentStore) spillFile() (*os.File, error) {
	s.once.Do(func() {
		s.spill, s.spillErr = os.CreateTemp(s.dir, "sealyard-contents-*")
		if s.spillErr == nil {
			// Unlinked at once: nothing is left behind, even on a crash.
			_ = os.Remove(s.spill.Name())
		}
	})
	return s.spill, s.spillErr
}

func (s *contentStore) close() error {
	if s.spill != nil {
		return s.spill.Close()
	}
	return nil
}

// keep stores a file's contents (head, then the rest of r, size bytes in
// all) and returns the opener of the stored copy and the contents'
// SHA-256.
func (s *contentStore) keep(head []byte, r io.Reader, size int64) (file.Opener, string, error) {
	h := sha256.New()
	h.Write(head)
	r = io.TeeReader(r, h)
	if size <= memContentMax && s.memUsed.Add(size) <= memContentBudget {
		buf := make([]byte, size)
		n := copy(buf, head)
		if _, err := io.ReadFull(r, buf[n:]); err != nil {
			return nil, "", err
		}
		return func() (io.ReadCloser, error) { return nopReadSeekCloser{bytes.NewReader(buf)}, nil }, hex.EncodeToString(h.Sum(nil)), nil
	}
	f, err := s.spillFile()
	if err != nil {
		return nil, "", err
	}
	off := s.next.Add(size) - size
	w := io.NewOffsetWriter(f, off)
	if _, err := w.Write(head); err != nil {
		return nil, "", err
	}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	if n, err := io.CopyBuffer(w, io.LimitReader(r, size-int64(len(head))), *buf); err != nil || n != size-int64(len(head)) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, "", fmt.Errorf("keeping file contents (%d of %d bytes): %w", n+int64(len(head)), size, err)
	}
	return func() (io.ReadCloser, error) {
		return nopReadSeekCloser{io.NewSectionReader(f, off, size)}, nil
	}, hex.EncodeToString(h.Sum(nil)), nil
}

// copyBuffers are the buffers contents are copied to the spill file
// through: large writes, few system calls.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// emptySHA256 is the SHA-256 of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// nopReadSeekCloser serves stored contents: syft's binary catalogers use
// io.ReaderAt and io.Seeker when a reader has them instead of reading the
// whole file into memory.
type nopReadSeekCloser struct {
	r interface {
		io.Reader
		io.ReaderAt
		io.Seeker
	}
}

func (n nopReadSeekCloser) Read(p []byte) (int, error)              { return n.r.Read(p) }
func (n nopReadSeekCloser) ReadAt(p []byte, off int64) (int, error) { return n.r.ReadAt(p, off) }
func (n nopReadSeekCloser) Seek(off int64, whence int) (int64, error) {
	return n.r.Seek(off, whence)
}
func (nopReadSeekCloser) Close() error { return nil }

func emptyOpener() (io.ReadCloser, error) {
	return nopReadSeekCloser{bytes.NewReader(nil)}, nil
}

// catalog is stereoscope's FileCatalog for an image read in one pass.
type catalog struct {
	filetree.Index
	mu     sync.RWMutex
	layer  map[file.ID]*stimage.Layer
	opener map[file.ID]file.Opener
	// sha256 holds the SHA-256 (hex) of each regular file's contents,
	// taken as the contents were kept: the file digests syft would
	// otherwise compute by reading every package-owned file again.
	sha256 map[file.ID]string
}

func newCatalog() *catalog {
	return &catalog{Index: filetree.NewIndex(), layer: map[file.ID]*stimage.Layer{}, opener: map[file.ID]file.Opener{}, sha256: map[file.ID]string{}}
}

func (c *catalog) add(id file.ID, l *stimage.Layer, o file.Opener, sum string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.layer[id], c.opener[id] = l, o
	if sum != "" {
		c.sha256[id] = sum
	}
}

func (c *catalog) digestOf(id file.ID) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	d, ok := c.sha256[id]
	return d, ok
}

func (c *catalog) remove(ref file.Reference) {
	if r, ok := c.Index.(interface{ Remove(file.Reference) }); ok {
		r.Remove(ref)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.layer, ref.ID())
	delete(c.opener, ref.ID())
	delete(c.sha256, ref.ID())
}

func (c *catalog) openerOf(id file.ID) file.Opener {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.opener[id]
}

// Layer is the layer a file came from.
func (c *catalog) Layer(f file.Reference) *stimage.Layer {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.layer[f.ID()]
}

// Open returns the file's contents.
func (c *catalog) Open(f file.Reference) (io.ReadCloser, error) {
	o := c.openerOf(f.ID())
	if o == nil {
		return nil, fmt.Errorf("could not find file: %+v", f.RealPath)
	}
	return o()
}

// readOnePass reads img into a stereoscope image whose contents live in
// store. The image's metadata is what stereoscope's Read records.
func readOnePass(ctx context.Context, img v1.Image, o *options, store *contentStore) (*stimage.Image, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	diffIDs := cf.RootFS.DiffIDs
	if len(diffIDs) != len(ls) {
		diffIDs = nil
	}
	cat := newCatalog()
	layers := make([]*stimage.Layer, len(ls))
	for i, l := range ls {
		mt, err := l.MediaType()
		if err != nil {
			return nil, err
		}
		var digest string
		if diffIDs != nil {
			digest = diffIDs[i].String()
		} else {
			d, err := l.DiffID()
			if err != nil {
				return nil, err
			}
			digest = d.String()
		}
		layers[i] = &stimage.Layer{Metadata: stimage.LayerMetadata{Index: uint(i), Digest: digest, MediaType: mt}}
	}

	// Every layer at once, a few at a time: each is one decompressing
	// stream and one tree.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(ls))
	sem := make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			if errs[i] = readLayer(ctx, ls[i], layers[i], cat, store, o); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// The layer that failed, not the ones its failure cancelled.
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("failed to read layer=%q: %w", layers[i].Metadata.Digest, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if err := squash(layers, cat); err != nil {
		return nil, err
	}
	meta, err := imageMetadata(img, cf)
	if err != nil {
		return nil, err
	}
	si := &stimage.Image{Metadata: meta, Layers: layers, FileCatalog: cat}
	if len(layers) == 0 {
		si.SquashedSearchContext = filetree.NewSearchContext(filetree.New(), cat)
	} else {
		si.SquashedSearchContext = layers[len(layers)-1].SquashedSearchContext
	}
	for _, l := range layers {
		si.Metadata.Size += l.Metadata.Size
	}
	return si, nil
}

// imageMetadata is what stereoscope records about an image.
func imageMetadata(img v1.Image, cf *v1.ConfigFile) (stimage.Metadata, error) {
	id, err := img.ConfigName()
	if err != nil {
		return stimage.Metadata{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return stimage.Metadata{}, err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return stimage.Metadata{}, err
	}
	return stimage.Metadata{ID: id.String(), Config: *cf, MediaType: mt, RawConfig: raw,
		OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}, nil
}

// squash builds each layer's squashed tree as stereoscope does: the top
// one (the image's) merged in place, the lower ones lazily, on first use.
func squash(layers []*stimage.Layer, cat *catalog) error {
	var last filetree.ReadWriter
	var lowerLazy filetree.Reader
	for i, l := range layers {
		tree := l.Tree.(filetree.ReadWriter)
		var squashed filetree.ReadWriter
		var err error
		if last != nil {
			squashed, err = last, last.Merge(tree)
		} else {
			u := filetree.NewUnionFileTree()
			u.PushTree(tree)
			squashed, err = u.Squash()
		}
		if err != nil {
			return fmt.Errorf("failed to squash tree %d: %w", i, err)
		}
		last = squashed
		if i == len(layers)-1 {
			l.SquashedTree = squashed
		} else {
			l.SquashedTree = filetree.NewLazySquash(lowerLazy, tree)
			lowerLazy = l.SquashedTree
		}
		l.SquashedSearchContext = filetree.NewSearchContext(l.SquashedTree, cat)
	}
	return nil
}

// indexBudget is how many entries of one layer are indexed in the first
// pass. A layer with more is only counted from there on (its index so
// far dropped): past the entry limit it is refused having cost the
// memory of this many entries, not of the limit's; within the limit it
// is read a second time and indexed whole.
var indexBudget = 50_000

// errOverBudget says a layer has more entries than indexBudget (and no
// more than the limit): it needs a pass without budget.
var errOverBudget = errors.New("layer over the index budget")

// readLayer indexes one layer's tar stream and keeps its files' contents:
// one pass, two for a layer of more than indexBudget entries.
func readLayer(ctx context.Context, l v1.Layer, sl *stimage.Layer, cat *catalog, store *contentStore, o *options) error {
	err := readLayerPass(ctx, l, sl, cat, store, o, indexBudget)
	if errors.Is(err, errOverBudget) {
		sl.Metadata.Size = 0
		err = readLayerPass(ctx, l, sl, cat, store, o, 0)
	}
	return err
}

// readLayerPass reads the layer once, indexing up to budget entries (0:
// all). Past the budget it drops what it indexed, counts the rest, and
// returns errOverBudget if the layer is within the limits.
func readLayerPass(ctx context.Context, l v1.Layer, sl *stimage.Layer, cat *catalog, store *contentStore, o *options, budget int) error {
	gl := fastGzipImage{maxBytes: o.maxLayerBytes, maxEntries: o.maxLayerEntries}.layer(l)
	what := gl.name()
	rc, err := image.Contents(gl.Layer)
	if err != nil {
		return err
	}
	defer rc.Close()
	counted := &countingReader{r: bufio.NewReaderSize(rc, 1<<20), what: what, max: gl.maxBytes}
	tr := tar.NewReader(counted)

	tree := filetree.New()
	sl.Tree = tree
	builder := filetree.NewBuilder(tree, cat.Index)
	head := make([]byte, mimeReadLimit)
	var entries int
	var declared int64
	var added []file.Reference
	overBudget := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			// What follows the tar's end is read too: it counts against
			// the limit (a small tar, then gigabytes of zeros), and the
			// blob's digest and the gzip checksum are only checked at
			// the end of the stream.
			if _, err := io.Copy(io.Discard, counted); err != nil {
				return readErr(counted, err)
			}
			break
		}
		if err != nil {
			if counted.err != nil {
				return counted.err
			}
			return err
		}
		entries++
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			declared += hdr.Size
		}
		switch {
		case entries > gl.maxEntries:
			return fmt.Errorf("%w: %s holds more than %d files", ErrLayerLimit, what, gl.maxEntries)
		case hdr.Size < 0 || declared > gl.maxBytes || declared < 0:
			return fmt.Errorf("%w: the files of %s declare more than %d bytes uncompressed (at %q, a file of %d bytes)", ErrLayerLimit, what, gl.maxBytes, hdr.Name, hdr.Size)
		}

		if budget > 0 && entries > budget && !overBudget {
			overBudget = true
			for _, ref := range added {
				cat.remove(ref)
			}
			added, tree, builder = nil, nil, nil
			sl.Tree = nil
		}
		if overBudget {
			continue
		}

		n, err := io.ReadFull(tr, head)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return readErr(counted, err)
		}
		metadata := file.NewMetadata(*hdr, bytes.NewReader(head[:n]))

		if err := removeEarlierEntry(tree, cat, metadata); err != nil {
			return err
		}
		var opener file.Opener
		var sum string
		var preAdoption *file.Metadata
		if metadata.Type == file.TypeHardLink {
			original := metadata
			if opener, sum = adoptHardLink(tree, cat, &metadata); opener != nil {
				preAdoption = &original
			}
		}
		ref, err := builder.Add(metadata)
		if err != nil {
			if preAdoption == nil {
				return err
			}
			// As stereoscope: an adopted hard link that collides with
			// an earlier entry is indexed from its own header.
			metadata, opener, sum = *preAdoption, nil, ""
			if ref, err = builder.Add(metadata); err != nil {
				return err
			}
		}
		sl.Metadata.Size += hdr.Size

		if opener == nil {
			switch {
			case hdr.Size == 0:
				opener, sum = emptyOpener, emptySHA256
			default:
				if opener, sum, err = store.keep(head[:n], tr, hdr.Size); err != nil {
					return readErr(counted, err)
				}
			}
		}
		cat.add(ref.ID(), sl, opener, sum)
		if budget > 0 {
			added = append(added, *ref)
		}
	}
	if overBudget {
		return errOverBudget
	}
	sl.SearchContext = filetree.NewSearchContext(sl.Tree, cat)
	return nil
}

func readErr(c *countingReader, err error) error {
	if c.err != nil {
		return c.err
	}
	return err
}

// countingReader fails once a layer's stream passes max bytes.
type countingReader struct {
	r    io.Reader
	what string
	max  int64
	n    int64
	err  error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		c.err = fmt.Errorf("%w: %s expands past %d bytes uncompressed (a decompression bomb?)", ErrLayerLimit, c.what, c.max)
		return n, c.err
	}
	return n, err
}

// adoptHardLink describes a hard link as the file it names in the same
// layer and returns that file's opener and digest, or a nil opener when
// it names none (a malformed archive; the entry keeps its own header).
// stereoscope's rule.
func adoptHardLink(ft filetree.Reader, cat *catalog, metadata *file.Metadata) (file.Opener, string) {
	linkPath := file.Path(path.Clean(file.DirSeparator + metadata.LinkDestination))
	if metadata.LinkDestination == "" || linkPath == file.Path(file.DirSeparator) {
		return nil, ""
	}
	exists, res, err := ft.File(linkPath)
	if err != nil || !exists || res == nil || res.Reference == nil {
		return nil, ""
	}
	target, err := cat.Get(*res.Reference)
	if err != nil || target.Type == file.TypeDirectory || target.Type == file.TypeHardLink {
		return nil, ""
	}
	opener := cat.openerOf(res.ID())
	if opener == nil {
		return nil, ""
	}
	sum, _ := cat.digestOf(res.ID())
	metadata.FileInfo = file.ManualInfo{
		NameValue:    path.Base(metadata.Path),
		SizeValue:    target.Size(),
		ModeValue:    metadata.Mode()&^fs.ModeType | target.Mode()&fs.ModeType,
		ModTimeValue: metadata.ModTime(),
		SysValue:     metadata.Sys(),
	}
	metadata.MIMEType = target.MIMEType
	metadata.Type = target.Type
	metadata.LinkDestination = target.LinkDestination
	return opener, sum
}

// removeEarlierEntry removes what an earlier entry of the layer put at
// the entry's path, unless both are directories, as extraction does.
func removeEarlierEntry(ft filetree.ReadWriter, cat *catalog, metadata file.Metadata) error {
	p := file.Path(metadata.Path).Normalize()
	existing := literalNode(ft, p)
	if existing == nil || (existing.FileType == file.TypeDirectory && metadata.Type == file.TypeDirectory) {
		return nil
	}
	if p == file.Path(file.DirSeparator) || len(ft.TreeReader().Children(existing)) > 0 || hasNonDirAncestor(ft, p) {
		return nil
	}
	if err := ft.RemovePath(p); err != nil {
		return err
	}
	if existing.Reference != nil {
		cat.remove(*existing.Reference)
	}
	return nil
}

func literalNode(ft filetree.Reader, p file.Path) *filenode.FileNode {
	n, _ := ft.TreeReader().Node(filenode.IDByPath(p)).(*filenode.FileNode)
	return n
}

func hasNonDirAncestor(ft filetree.Reader, p file.Path) bool {
	for _, c := range p.ConstituentPaths() {
		n := literalNode(ft, c)
		if n == nil {
			return false
		}
		if n.FileType != file.TypeDirectory {
			return true
		}
	}
	return false
}

// fileDigestsFromStream gives s the file digests syft's digest task
// would (the task is off when the image was read in one pass): the
// SHA-256 of every regular file a package owns or is found at, looked up
// through the same resolver, taken from the catalog instead of read again.
func fileDigestsFromStream(s *syftsbom.SBOM, res syftfile.Resolver, cat *catalog) error {
	var coords syftfile.CoordinateSet
	for _, r := range s.Relationships {
		if r.Type != artifact.ContainsRelationship {
			continue
		}
		if _, ok := r.From.(pkg.Package); !ok {
			continue
		}
		if c, ok := r.To.(syftfile.Coordinates); ok {
			coords.Add(c)
		}
	}
	for p := range s.Artifacts.Packages.Enumerate() {
		coords.Add(p.Locations.CoordinateSet().ToSlice()...)
	}
	seen := map[syftfile.Coordinates]bool{}
	for _, c := range coords.ToSlice() {
		locs, err := res.FilesByPath(c.FullNestedPath())
		if err != nil {
			return fmt.Errorf("unable to get file locations for path %q: %w", c.FullNestedPath(), err)
		}
		for _, l := range locs {
			if seen[l.Coordinates] {
				continue
			}
			seen[l.Coordinates] = true
			meta, err := res.FileMetadataByLocation(l)
			if err != nil || meta.Type != file.TypeRegular {
				continue
			}
			ref := l.Reference()
			sum, ok := cat.digestOf(ref.ID())
			if !ok {
				return fmt.Errorf("no digest kept for %s", l.RealPath)
			}
			if s.Artifacts.FileDigests == nil {
				s.Artifacts.FileDigests = map[syftfile.Coordinates][]syftfile.Digest{}
			}
			s.Artifacts.FileDigests[l.Coordinates] = []syftfile.Digest{{Algorithm: "sha256", Value: sum}}
		}
	}
	return nil
}

// recordConfig puts back, as the configuration s's descriptor records,
// the file and package cataloging syft was asked for where sealyard did
// part of the work itself: the file digests taken in the stream rather
// than by syft's task, the Go symbols read after cataloging rather than by
// syft's golang cataloger. The documents are the ones that configuration
// gives, and the audit trail says so. The trail is syft's unexported
// type; only its exported Files and Packages fields are set.
func recordConfig(s *syftsbom.SBOM, files filecataloging.Config, packages pkgcataloging.Config) {
	cur := reflect.ValueOf(s.Descriptor.Configuration)
	if !cur.IsValid() || cur.Kind() != reflect.Struct {
		return
	}
	v := reflect.New(cur.Type()).Elem()
	v.Set(cur)
	for name, val := range map[string]any{"Files": files, "Packages": packages} {
		f := v.FieldByName(name)
		if !f.IsValid() || !f.CanSet() || f.Type() != reflect.TypeOf(val) {
			return
		}
		f.Set(reflect.ValueOf(val))
	}
	s.Descriptor.Configuration = v.Interface()
}
