package sbom

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/anchore/stereoscope/pkg/file"
	stimage "github.com/anchore/stereoscope/pkg/image"
	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/pkg/cataloger/golang"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
	"github.com/anchore/syft/syft/source/stereoscopesource"

	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/redact"
)

// Document is the SBOM of one platform image.
type Document struct {
	// Name is the image's name (a repository, or a file name), without tag.
	Name string
	// Digest is the image's manifest digest.
	Digest v1.Hash
	// Platform is the platform the image is for.
	Platform v1.Platform
	// Created is the image's creation time, used for document timestamps.
	Created time.Time
	// SBOM is syft's model of the inventory.
	SBOM *syftsbom.SBOM
}

// Option configures Generate.
type Option func(*options) error

type options struct {
	name        string
	repository  string
	toolVersion string
	parallelism int
	platforms   int
	tempDir     string
	redact      *redact.Patterns

	maxLayerBytes   int64
	maxLayerEntries int
	stereoscope     bool
	syftSymbols     bool // syft's own Go symbol capture (with stereoscope)
}

// WithName sets the image name recorded in documents (default "image").
func WithName(n string) Option {
	return func(o *options) error {
		o.name = n
		return nil
	}
}

// WithRepository names the image by the repository it is (or is about to
// be) pushed to: the documents' name, and the image's repo digest
// (repository@digest) in the source metadata, by which scanners given the
// SBOM (grype sbom:FILE) identify the image, as in a VEX product.
func WithRepository(repo string) Option {
	return func(o *options) error {
		if repo == "" {
			return fmt.Errorf("empty repository")
		}
		o.name, o.repository = repo, repo
		return nil
	}
}

// WithToolVersion records the sealyard version in the documents' creator.
func WithToolVersion(v string) Option {
	return func(o *options) error {
		o.toolVersion = v
		return nil
	}
}

// WithParallelism bounds how many catalogers run at once within one image
// (default: the number of CPUs).
func WithParallelism(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("parallelism must not be negative")
		}
		o.parallelism = n
		return nil
	}
}

// WithConcurrentPlatforms sets how many platform images GenerateAll catalogs
// at once (default 2).
func WithConcurrentPlatforms(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("concurrent platforms must be at least 1")
		}
		o.platforms = n
		return nil
	}
}

// WithTempDir sets where uncompressed layers are kept while cataloging.
func WithTempDir(dir string) Option {
	return func(o *options) error {
		o.tempDir = dir
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{name: "image", toolVersion: "devel", platforms: 2, tempDir: os.TempDir(), redact: redact.Default()}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// Config returns the syft configuration sealyard catalogs with: syft's
// defaults for images, no network access, and Go symbol capture for every
// module (reachability needs it).
func Config(toolVersion string) *syft.CreateSBOMConfig {
	return syft.DefaultCreateSBOMConfig().
		WithTool("sealyard", toolVersion).
		WithPackagesConfig(packagesConfig(true))
}

func packagesConfig(symbols bool) pkgcataloging.Config {
	return pkgcataloging.DefaultConfig().WithGolangConfig(goConfig(symbols))
}

// goConfig is the golang cataloger's configuration, capturing every
// module's symbols or none.
func goConfig(symbols bool) golang.CatalogerConfig {
	scope := cataloging.SymbolScopeNone
	if symbols {
		scope = cataloging.SymbolScopeAll
	}
	return golang.DefaultCatalogerConfig().
		WithSearchRemoteLicenses(false).
		WithCaptureSymbols(scope)
}

// Generate catalogs one platform image.
func Generate(ctx context.Context, img v1.Image, opts ...Option) (*Document, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	return generate(ctx, img, o)
}

// WithLayerLimits bounds what one layer may cost: its uncompressed bytes
// and its files (defaults DefaultMaxLayerBytes, DefaultMaxLayerEntries).
func WithLayerLimits(maxBytes int64, maxEntries int) Option {
	return func(o *options) error {
		if maxBytes <= 0 || maxEntries <= 0 {
			return fmt.Errorf("layer limits must be positive, got %d bytes and %d files", maxBytes, maxEntries)
		}
		o.maxLayerBytes, o.maxLayerEntries = maxBytes, maxEntries
		return nil
	}
}

// WithStereoscope reads the image through stereoscope, syft's image
// library (each layer unpacked to disk, then indexed), instead of the
// one-pass source, and has syft capture the Go symbols: syft as it is,
// for comparison, and as a fallback.
func WithStereoscope() Option {
	return func(o *options) error {
		o.stereoscope, o.syftSymbols = true, true
		return nil
	}
}

// WithRedaction sets the credential patterns whose label and environment
// values are redacted from the SBOM's copy of the image config (default:
// sealyard's default policy settings).
func WithRedaction(p *redact.Patterns) Option {
	return func(o *options) error {
		if p == nil {
			return fmt.Errorf("redaction patterns are nil")
		}
		o.redact = p
		return nil
	}
}

// redactSource keeps credentials in image labels and the raw config out
// of the SBOM (syft copies both into it: CycloneDX properties, syft JSON).
func redactSource(s *syftsbom.SBOM, p *redact.Patterns) {
	m, ok := s.Source.Metadata.(source.ImageMetadata)
	if !ok {
		return
	}
	m.Labels, _ = p.Labels(m.Labels)
	m.RawConfig = p.ConfigJSON(m.RawConfig)
	s.Source.Metadata = m
}

// GenerateAll catalogs every platform image of a (an image or an index), a
// few at a time, and returns the documents in the order of the index.
func GenerateAll(ctx context.Context, a image.Artifact, opts ...Option) ([]*Document, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	imgs, err := image.Images(a)
	if err != nil {
		return nil, err
	}
	docs := make([]*Document, len(imgs))
	errs := make([]error, len(imgs))
	sem := make(chan struct{}, o.platforms)
	var wg sync.WaitGroup
	for i, pi := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			docs[i], errs[i] = generate(ctx, pi.Image, o)
			if errs[i] == nil {
				// The index's word on the platform, as the gate's image
				// facts take it.
				docs[i].Platform = pi.Platform
			}
			if errs[i] != nil {
				errs[i] = fmt.Errorf("cataloging %s image: %w", pi.Platform.String(), errs[i])
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return docs, nil
}

// readImage reads img's layers for cataloging: in one pass (onepass.go),
// or through stereoscope when asked to (WithStereoscope) or when the image
// is one the one-pass source leaves to it.
func readImage(ctx context.Context, img v1.Image, cf *v1.ConfigFile, tmp string, o *options, meta ...stimage.AdditionalMetadata) (*stimage.Image, func(), error) {
	if o.stereoscope || !onePassSupported(img, cf) {
		gen := file.NewTempDirGenerator("sealyard-sbom")
		simg := stimage.New(fastGzipImage{Image: img, maxBytes: o.maxLayerBytes, maxEntries: o.maxLayerEntries}, gen, tmp, meta...)
		if err := simg.Read(ctx); err != nil {
			gen.Cleanup()
			return nil, nil, err
		}
		return simg, func() { simg.Cleanup(); gen.Cleanup() }, nil
	}
	store := &contentStore{dir: tmp}
	simg, err := readOnePass(ctx, img, o, store)
	if err != nil {
		store.close()
		return nil, nil, err
	}
	for _, m := range meta {
		if err := m(simg); err != nil {
			store.close()
			return nil, nil, err
		}
	}
	return simg, func() { store.close() }, nil
}

func generate(ctx context.Context, img v1.Image, o *options) (*Document, error) {
	startLicenseScanner()
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("image digest: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("image manifest: %w", err)
	}
	if m, err := img.Manifest(); err == nil && len(m.Layers) > MaxLayers {
		return nil, fmt.Errorf("%w: the image has %d layers, more than %d", ErrLayerLimit, len(m.Layers), MaxLayers)
	}
	tmp, err := os.MkdirTemp(o.tempDir, "sealyard-sbom-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	simg, cleanup, err := readImage(ctx, img, cf, tmp, o,
		stimage.WithManifestDigest(digest.String()),
		stimage.WithManifest(raw),
	)
	if err != nil {
		return nil, fmt.Errorf("reading image layers: %w", err)
	}
	defer cleanup()

	userInput := o.name + "@" + digest.String()
	src := stereoscopesource.New(simg, stereoscopesource.ImageConfig{
		Reference: userInput,
		Alias:     source.Alias{Name: o.name, Version: digest.String()},
	})
	cfg := Config(o.toolVersion).WithParallelism(o.parallelism)
	cat, onePass := simg.FileCatalog.(*catalog)
	onePass = onePass && slices.Equal(cfg.Files.Hashers, []crypto.Hash{crypto.SHA256})
	files, packages := cfg.Files, cfg.Packages
	if onePass {
		// The digests were taken as the layers were read.
		cfg = cfg.WithFilesConfig(cfg.Files.WithHashers())
	}
	if !o.syftSymbols {
		// The Go symbols are read after cataloging (captureGoSymbols).
		cfg = cfg.WithPackagesConfig(packagesConfig(false))
	}
	sctx, err := withLicenseScanner(ctx)
	if err != nil {
		return nil, fmt.Errorf("cataloging: %w", err)
	}
	s, err := syft.CreateSBOM(sctx, src, cfg)
	if err != nil {
		return nil, fmt.Errorf("cataloging: %w", err)
	}
	res, err := src.FileResolver(source.SquashedScope)
	if err != nil {
		return nil, fmt.Errorf("reading image files: %w", err)
	}
	if onePass {
		if err := fileDigestsFromStream(s, res, cat); err != nil {
			return nil, fmt.Errorf("file digests: %w", err)
		}
	}
	if o.syftSymbols {
		correctVendoredSymbols(s, res)
	} else if err := captureGoSymbols(ctx, s, res); err != nil {
		return nil, err
	}
	recordConfig(s, files, packages)
	redactSource(s, o.redact)
	if m, ok := s.Source.Metadata.(source.ImageMetadata); ok && o.repository != "" {
		m.RepoDigests = []string{o.repository + "@" + digest.String()}
		s.Source.Metadata = m
	}
	return &Document{Name: o.name, Digest: digest, Platform: image.ConfigPlatform(cf), Created: cf.Created.Time.UTC(), SBOM: s}, nil
}
