package secrets

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/image"
)

// The layer limits are the image package's, the same as cataloging's.
const (
	DefaultMaxLayerBytes   = image.DefaultMaxLayerBytes
	DefaultMaxLayerEntries = image.DefaultMaxLayerEntries
	MaxLayers              = image.MaxLayers
)

// ErrLayerLimit is wrapped when a layer exceeds a limit.
var ErrLayerLimit = image.ErrLayerLimit

// ImageOptions tune an image scan.
type ImageOptions struct {
	Options
	MaxLayerBytes   int64
	MaxLayerEntries int
}

// ScanImage scans every platform image of a, every layer of each, and
// reports each finding with its platform, layer and whether a later
// layer deleted or overwrote its file. target is how the user named the
// image.
func ScanImage(ctx context.Context, a image.Artifact, target string, opts ImageOptions) (*Report, error) {
	imgs, err := image.Images(a)
	if err != nil {
		return nil, err
	}
	n, err := RuleCount()
	if err != nil {
		return nil, err
	}
	r := &Report{Schema: Schema, Target: target, Kind: "image", RuleSet: RuleSet, Rules: n}
	for _, pi := range imgs {
		found, counts, err := scanPlatform(ctx, pi.Image, opts)
		if err != nil {
			return nil, fmt.Errorf("secrets in the %s image: %w", pi.Platform.String(), err)
		}
		for i := range found {
			found[i].Platform = pi.Platform.String()
		}
		r.Findings = append(r.Findings, found...)
		r.Scanned.Files += counts.Files
		r.Scanned.Bytes += counts.Bytes
		r.Scanned.Skipped += counts.Skipped
		r.Scanned.Layers += counts.Layers
	}
	finish(r, opts.Allow)
	return r, nil
}

// layerScan is what one layer holds: its findings and the paths it
// writes, deletes (whiteouts) or empties (opaque directories).
type layerScan struct {
	mu        sync.Mutex
	findings  []Finding
	counts    Counts
	written   map[string]bool // every entry's path; true for non-directories
	whiteouts map[string]bool
	opaque    map[string]bool
}

func scanPlatform(ctx context.Context, img v1.Image, opts ImageOptions) ([]Finding, Counts, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, Counts{}, err
	}
	if len(layers) > MaxLayers {
		return nil, Counts{}, fmt.Errorf("%w: the image has %d layers, more than %d", ErrLayerLimit, len(layers), MaxLayers)
	}
	// The diff IDs come from the image's config, not from each layer: a
	// registry layer's DiffID reads the config through the unwrapped image,
	// which does not resume a download cut short.
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, Counts{}, err
	}
	if len(cf.RootFS.DiffIDs) != len(layers) {
		return nil, Counts{}, fmt.Errorf("the image config lists %d diff IDs for %d layers", len(cf.RootFS.DiffIDs), len(layers))
	}
	pl, err := startPool(ctx, opts.Options)
	if err != nil {
		return nil, Counts{}, err
	}
	scans := make([]*layerScan, len(layers))
	errs := make([]error, len(layers))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			scans[i], errs[i] = scanLayer(ctx, pl, i, l, cf.RootFS.DiffIDs[i], opts)
		}()
	}
	wg.Wait()
	if err := errors.Join(append(errs, pl.wait())...); err != nil {
		return nil, Counts{}, err
	}
	var out []Finding
	var c Counts
	for i, s := range scans {
		for _, f := range s.findings {
			f.Status = statusAfter(f.File, scans[i+1:])
			out = append(out, f)
		}
		c.Files += s.counts.Files
		c.Bytes += s.counts.Bytes
		c.Skipped += s.counts.Skipped
	}
	c.Layers = len(layers)
	return out, c, nil
}

// statusAfter says what the layers above do to the file at p: the first
// one that touches it or a directory above it decides.
func statusAfter(p string, above []*layerScan) Status {
	for _, s := range above {
		if _, ok := s.written[p]; ok {
			return Shadowed
		}
		if s.whiteouts[p] {
			return Deleted
		}
		for d := path.Dir(p); ; d = path.Dir(d) {
			if s.whiteouts[d] || s.opaque[d] || s.written[d] {
				return Deleted
			}
			if d == "/" {
				break
			}
		}
	}
	return Present
}

// countingReader fails once more than max bytes came through.
type countingReader struct {
	r    io.Reader
	n    int64
	max  int64
	what string
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, fmt.Errorf("%w: %s expands past %d bytes uncompressed (a decompression bomb?)", ErrLayerLimit, c.what, c.max)
	}
	return n, err
}

func scanLayer(ctx context.Context, pl *pool, index int, l v1.Layer, diffID v1.Hash, opts ImageOptions) (*layerScan, error) {
	dig, err := l.Digest()
	if err != nil {
		return nil, err
	}
	what := "layer " + dig.String()
	maxBytes, maxEntries := opts.MaxLayerBytes, opts.MaxLayerEntries
	if maxBytes <= 0 {
		maxBytes = DefaultMaxLayerBytes
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxLayerEntries
	}
	rc, err := image.Contents(l)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rc.Close()
	cr := &countingReader{r: rc, max: maxBytes, what: what}
	ls := &layerScan{written: map[string]bool{}, whiteouts: map[string]bool{}, opaque: map[string]bool{}}
	loc := &Layer{Index: index, Digest: dig.String(), DiffID: diffID.String()}
	tr := tar.NewReader(cr)
	var entries int
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if entries++; entries > maxEntries {
			return nil, fmt.Errorf("%w: %s holds more than %d files", ErrLayerLimit, what, maxEntries)
		}
		p := path.Clean("/" + h.Name)
		base, dir := path.Base(p), path.Dir(p)
		switch {
		case base == ".wh..wh..opq":
			ls.opaque[dir] = true
			continue
		case strings.HasPrefix(base, ".wh."):
			ls.whiteouts[path.Join(dir, strings.TrimPrefix(base, ".wh."))] = true
			continue
		}
		ls.written[p] = h.Typeflag != tar.TypeDir
		if h.Typeflag != tar.TypeReg || h.Size > opts.maxFile() {
			ls.counts.Skipped++
			continue
		}
		data := make([]byte, h.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", what, p, err)
		}
		if !pl.submit(p, data, func(found []Finding) {
			for i := range found {
				found[i].Layer = loc
			}
			ls.mu.Lock()
			ls.findings = append(ls.findings, found...)
			ls.mu.Unlock()
		}) {
			ls.counts.Skipped++
			continue
		}
		ls.counts.Files++
		ls.counts.Bytes += h.Size
	}
	// Read to the end: trailing data counts against the limit, and the
	// blob's digest is checked when its stream ends.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ls, nil
}
