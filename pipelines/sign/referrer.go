package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci"
)

// Artifact types of the referrers, as cosign's OCI 1.1 mode names them.
const (
	signatureArtifactType   = "application/vnd.dev.cosign.artifact.sig.v1+json"
	attestationArtifactType = "application/vnd.in-toto+json"
	// referrerAnnotation marks the referrers sealyard manages, so a newer
	// one replaces the older instead of piling up.
	referrerAnnotation = "dev.sealyard.referrer"
)

// referrerManifest is an image manifest with the OCI 1.1 artifactType.
type referrerManifest struct {
	v1.Manifest
	ArtifactType string `json:"artifactType,omitempty"`
}

type rawManifest struct {
	raw []byte
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// writeReferrer stores the layers of sigs (cosign's signature or
// attestation image) as an OCI 1.1 referrer of d. The manifest carries no
// timestamp, so the same content gives the same referrer; an earlier
// referrer of the same kind is deleted when the content changed.
func writeReferrer(ctx context.Context, d name.Digest, sigs oci.Signatures, artifactType, kind string, o *options) error {
	ropts := o.remote(ctx)
	subject, err := remote.Head(d, ropts...)
	if err != nil {
		return err
	}
	layers, err := sigs.Layers()
	if err != nil {
		return err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Subject:       subject,
		Annotations:   map[string]string{referrerAnnotation: kind},
	}
	for _, l := range layers {
		if err := remote.WriteLayer(d.Repository, l, ropts...); err != nil {
			return err
		}
		desc, err := layerDescriptor(l)
		if err != nil {
			return err
		}
		m.Layers = append(m.Layers, desc)
	}
	// OCI 1.1 artifacts without a config use the empty descriptor.
	emptyCfg := static.NewLayer([]byte("{}"), types.MediaType("application/vnd.oci.empty.v1+json"))
	if err := remote.WriteLayer(d.Repository, emptyCfg, ropts...); err != nil {
		return err
	}
	cfgDigest, _ := emptyCfg.Digest()
	m.Config = v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Size: 2, Digest: cfgDigest}
	raw, err := json.Marshal(referrerManifest{Manifest: m, ArtifactType: artifactType})
	if err != nil {
		return err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if err := remote.Put(d.Context().Digest(h.String()), rawManifest{raw}, ropts...); err != nil {
		return fmt.Errorf("storing the %s referrer: %w", kind, err)
	}
	// Drop the previous referrer of this kind: the new one holds the whole
	// set (every signer's), so nothing is lost. A failure here leaves a
	// stale duplicate, and is reported.
	idx, err := remote.Referrers(d, ropts...)
	if err != nil {
		return fmt.Errorf("listing the referrers of %s to replace the %s referrer: %w", d, kind, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading the referrers of %s: %w", d, err)
	}
	var errs []error
	for _, r := range im.Manifests {
		// Registries differ in what they report as the artifact type (the
		// manifest's, or its config's media type), so the annotation
		// identifies sealyard's own referrers.
		if r.Digest != h && r.Annotations[referrerAnnotation] == kind {
			if err := remote.Delete(d.Context().Digest(r.Digest.String()), ropts...); err != nil {
				errs = append(errs, fmt.Errorf("deleting the previous %s referrer %s: %w", kind, r.Digest, err))
			}
		}
	}
	return errors.Join(errs...)
}

func layerDescriptor(l v1.Layer) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	size, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc := v1.Descriptor{MediaType: mt, Size: size, Digest: d}
	if s, ok := l.(oci.Signature); ok {
		if ann, err := s.Annotations(); err == nil {
			desc.Annotations = ann
		}
	}
	return desc, nil
}
