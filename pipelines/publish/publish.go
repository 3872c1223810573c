package publish

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/registry"
)

// Option configures Push and Tag.
type Option func(*options) error

type options struct {
	registry *registry.Client
	jobs     int
	chunk    int64
	progress chan<- v1.Update
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{jobs: 4, chunk: DefaultChunkSize}
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

// WithRegistry sets credentials, TLS trust and retries.
func WithRegistry(c *registry.Client) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("nil registry client")
		}
		o.registry = c
		return nil
	}
}

// WithJobs sets how many blobs upload at once (default 4).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("jobs must be at least 1, got %d", n)
		}
		o.jobs = n
		return nil
	}
}

// MinChunkSize is the smallest chunk WithChunkSize takes.
const MinChunkSize = 64 << 10

// WithChunkSize sets the size of one chunk of a resumable upload (default
// DefaultChunkSize); blobs larger than that go up in chunks.
func WithChunkSize(n int64) Option {
	return func(o *options) error {
		if n < MinChunkSize {
			return fmt.Errorf("chunk size must be at least %d bytes, got %d", MinChunkSize, n)
		}
		o.chunk = n
		return nil
	}
}

// WithProgress receives upload progress; the channel is closed when the push ends.
func WithProgress(ch chan<- v1.Update) Option {
	return func(o *options) error {
		o.progress = ch
		return nil
	}
}

func (o *options) remote(ctx context.Context) []remote.Option {
	ro := append(o.registry.RemoteOptions(ctx), remote.WithJobs(o.jobs))
	if o.progress != nil {
		ro = append(ro, remote.WithProgress(o.progress))
	}
	return ro
}

// Destination splits dst ("registry:" prefix optional) into its repository
// and the tag it names, if any. A destination with a digest is accepted only
// by Push, which checks the digest.
func Destination(dst string, c *registry.Client) (name.Reference, error) {
	dst = strings.TrimPrefix(dst, string(image.Registry)+":")
	var nopts []name.Option
	if c != nil {
		nopts = c.NameOptions()
	}
	ref, err := name.ParseReference(dst, nopts...)
	if err != nil {
		return nil, fmt.Errorf("parsing destination %q: %w", dst, err)
	}
	return ref, nil
}

// Push uploads a to the repository of dst by digest and returns the pushed
// reference (repository@digest). No tag is created or moved. If dst carries
// a digest, it must be a's digest.
func Push(ctx context.Context, a image.Artifact, dst string, opts ...Option) (name.Digest, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return name.Digest{}, err
	}
	ref, err := Destination(dst, o.registry)
	if err != nil {
		return name.Digest{}, err
	}
	local, err := a.Digest()
	if err != nil {
		return name.Digest{}, fmt.Errorf("computing digest: %w", err)
	}
	if d, ok := ref.(name.Digest); ok && d.DigestStr() != local.String() {
		return name.Digest{}, fmt.Errorf("destination %q names digest %s, but the image is %s", dst, d.DigestStr(), local)
	}
	target := ref.Context().Digest(local.String())
	if err := uploadLarge(ctx, a, ref.Context(), o); err != nil {
		return name.Digest{}, fmt.Errorf("pushing to %s: %w", ref.Context(), err)
	}
	if err := remote.Push(target, a, o.remote(ctx)...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing to %s: %w", ref.Context(), err)
	}
	desc, err := remote.Head(target, o.registry.RemoteOptions(ctx)...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("checking pushed manifest %s: %w", target, err)
	}
	if desc.Digest != local {
		return name.Digest{}, fmt.Errorf("registry holds %s at %s, but the local digest is %s", desc.Digest, ref.Context(), local)
	}
	return target, nil
}

// Tag points each tag of the repository of d at d's digest, after checking
// that the registry holds it. tags are bare tag names ("v1", "latest").
func Tag(ctx context.Context, d name.Digest, tags []string, opts ...Option) ([]name.Tag, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, nil
	}
	desc, err := remote.Get(d, o.registry.RemoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("fetching %s before tagging: %w", d, err)
	}
	var out []name.Tag
	for _, t := range tags {
		tag, err := name.NewTag(d.Context().String()+":"+t, o.registry.NameOptions()...)
		if err != nil {
			return out, fmt.Errorf("tag %q: %w", t, err)
		}
		if err := remote.Tag(tag, desc, o.registry.RemoteOptions(ctx)...); err != nil {
			return out, fmt.Errorf("tagging %s: %w", tag, err)
		}
		out = append(out, tag)
	}
	return out, nil
}

// TagsOf returns the tag named by ref, if it names one.
func TagsOf(ref name.Reference) []string {
	if t, ok := ref.(name.Tag); ok {
		// name.Tag defaults to "latest" when none was written; keep that,
		// as docker push does.
		return []string{t.TagStr()}
	}
	return nil
}
