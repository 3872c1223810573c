package image

import (
	"fmt"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/registry"
)

// Option configures Load and Write.
type Option func(*options) error

type options struct {
	platforms  []v1.Platform
	registry   *registry.Client
	tempDir    string
	maxEntry   int64
	maxTotal   int64
	maxEntries int
	refName    string
}

// Default limits for local archives. A layer tarball over 16 GiB or an
// archive over 64 GiB is far more likely to be hostile than real.
const (
	DefaultMaxEntrySize   int64 = 16 << 30
	DefaultMaxArchiveSize int64 = 64 << 30
	DefaultMaxEntries           = 100_000
)

func makeOptions(opts []Option) (*options, error) {
	o := &options{
		tempDir:    os.TempDir(),
		maxEntry:   DefaultMaxEntrySize,
		maxTotal:   DefaultMaxArchiveSize,
		maxEntries: DefaultMaxEntries,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.registry == nil {
		c, err := registry.New()
		if err != nil {
			return nil, err
		}
		o.registry = c
	}
	return o, nil
}

// WithPlatforms selects platforms of an index. With one platform Load
// returns that platform's image; with several, an index of just those. For a
// single image, Load checks that it is for one of the platforms.
func WithPlatforms(ps ...v1.Platform) Option {
	return func(o *options) error {
		o.platforms = append(o.platforms, ps...)
		return nil
	}
}

// WithRegistry sets how registries are reached (credentials, TLS, retries).
func WithRegistry(c *registry.Client) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("nil registry client")
		}
		o.registry = c
		return nil
	}
}

// WithTempDir sets where archives are unpacked and outputs are staged.
func WithTempDir(dir string) Option {
	return func(o *options) error {
		o.tempDir = dir
		return nil
	}
}

// WithArchiveLimits bounds the size of one archive entry, the whole archive
// and the number of entries.
func WithArchiveLimits(maxEntry, maxTotal int64, maxEntries int) Option {
	return func(o *options) error {
		if maxEntry <= 0 || maxTotal <= 0 || maxEntries <= 0 {
			return fmt.Errorf("archive limits must be positive")
		}
		o.maxEntry, o.maxTotal, o.maxEntries = maxEntry, maxTotal, maxEntries
		return nil
	}
}

// WithRefName sets the name recorded for the image in an OCI layout
// (org.opencontainers.image.ref.name) or a docker archive (its tag).
func WithRefName(n string) Option {
	return func(o *options) error {
		o.refName = n
		return nil
	}
}
