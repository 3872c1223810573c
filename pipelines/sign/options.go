package sign

import (
	"context"
	"fmt"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/sealyard/sealyard/pipelines/registry"
)

// DefaultRekorURL is the public Rekor instance.
const DefaultRekorURL = "https://rekor.sigstore.dev"

// Option configures signing and attesting.
type Option func(*options) error

type options struct {
	registry    *registry.Client
	annotations map[string]string
	recursive   bool
	rekorURL    string
	skipTlog    bool
	referrers   ReferrersMode
	// trusted verifies the certificates of existing keyless signatures.
	trusted root.TrustedMaterial
}

// WithTrustedMaterial trusts the Fulcio authorities of a Sigstore trusted
// root when deciding whether an image already carries this keyless
// signer's signature. Without it, keyless signing always signs anew.
func WithTrustedMaterial(tm root.TrustedMaterial) Option {
	return func(o *options) error {
		o.trusted = tm
		return nil
	}
}

// ReferrersMode says whether to store signatures as OCI 1.1 referrers as
// well as under cosign's tags.
type ReferrersMode string

// Referrers modes.
const (
	// ReferrersAuto stores referrers when the registry serves the API.
	ReferrersAuto ReferrersMode = "auto"
	// ReferrersNever stores only cosign's tags.
	ReferrersNever ReferrersMode = "never"
)

func makeOptions(opts []Option) (*options, error) {
	o := &options{rekorURL: DefaultRekorURL, referrers: ReferrersAuto}
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
		o.registry = c
		return nil
	}
}

// WithAnnotations adds annotations to signature payloads (cosign -a).
func WithAnnotations(a map[string]string) Option {
	return func(o *options) error {
		o.annotations = a
		return nil
	}
}

// WithRecursive signs each platform image of an index as well.
func WithRecursive() Option {
	return func(o *options) error {
		o.recursive = true
		return nil
	}
}

// WithRekorURL sets the transparency log (default DefaultRekorURL).
func WithRekorURL(u string) Option {
	return func(o *options) error {
		o.rekorURL = u
		return nil
	}
}

// WithoutTlogUnsafe skips the transparency log. Nothing then records when
// the key signed, so a leaked key can sign backdated artifacts unnoticed;
// verifiers must accept signatures without log entries. For offline and
// air-gapped use.
func WithoutTlogUnsafe() Option {
	return func(o *options) error {
		o.skipTlog = true
		return nil
	}
}

// WithReferrers sets the referrers mode (default ReferrersAuto).
func WithReferrers(m ReferrersMode) Option {
	return func(o *options) error {
		if m != ReferrersAuto && m != ReferrersNever {
			return fmt.Errorf("unknown referrers mode %q (want auto or never)", m)
		}
		o.referrers = m
		return nil
	}
}

func (o *options) ociRemote(ctx context.Context) []ociremote.Option {
	ropts := o.registry.RemoteOptions(ctx)
	return []ociremote.Option{
		ociremote.WithRemoteOptions(ropts...),
		ociremote.WithNameOptions(o.registry.NameOptions()...),
	}
}

func (o *options) remote(ctx context.Context) []remote.Option {
	return o.registry.RemoteOptions(ctx)
}
