package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/sealyard/sealyard/pipelines/predicate"
)

// Result says what was signed and where the signatures went.
type Result struct {
	// Digests are the digests signed (the image, and with WithRecursive
	// each platform image).
	Digests []name.Digest
	// Referrers is true when signatures were also stored as referrers.
	Referrers bool
	// Tlog is true when the signatures were logged to Rekor.
	Tlog bool
}

// Image signs the image (or index) at d with k.
func Image(ctx context.Context, d name.Digest, k Signer, opts ...Option) (*Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	targets, err := targets(ctx, d, o)
	if err != nil {
		return nil, err
	}
	res := &Result{Tlog: !o.skipTlog}
	for _, t := range targets {
		var ann map[string]any
		if len(o.annotations) > 0 {
			ann = map[string]any{}
			for k, v := range o.annotations {
				ann[k] = v
			}
		}
		pl, err := (&payload.Cosign{Image: t, Annotations: ann}).MarshalJSON()
		if err != nil {
			return nil, err
		}
		se, err := ociremote.SignedEntity(t, o.ociRemote(ctx)...)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", t, err)
		}
		existing, err := se.Signatures()
		if err != nil {
			return nil, fmt.Errorf("reading the signatures of %s: %w", t, err)
		}
		have, err := existing.Get()
		if err != nil {
			return nil, fmt.Errorf("reading the signatures of %s: %w", t, err)
		}
		if alreadySigned(have, pl, k, o) {
			// A rerun after a crash, or signing twice: the signature is there.
			res.Digests = append(res.Digests, t)
			continue
		}
		b64sig, sopts, err := k.signPayload(ctx, pl, o)
		if err != nil {
			return nil, fmt.Errorf("signing %s: %w", t, err)
		}
		sig, err := static.NewSignature(pl, b64sig, sopts...)
		if err != nil {
			return nil, err
		}
		newSE, err := mutate.AttachSignatureToEntity(se, sig)
		if err != nil {
			return nil, err
		}
		if err := ociremote.WriteSignatures(t.Repository, newSE, o.ociRemote(ctx)...); err != nil {
			return nil, fmt.Errorf("storing the signature of %s: %w", t, err)
		}
		if ok, err := o.referrersSupported(ctx, t); err != nil {
			return nil, err
		} else if ok {
			sigs, err := newSE.Signatures()
			if err != nil {
				return nil, err
			}
			if err := writeReferrer(ctx, t, sigs, signatureArtifactType, "signatures", o); err != nil {
				return nil, fmt.Errorf("storing the signature of %s as a referrer: %w", t, err)
			}
			res.Referrers = true
		}
		res.Digests = append(res.Digests, t)
	}
	return res, nil
}

// Statement is one attestation to make: a predicate of a type, about the
// whole image or (for an SBOM or a scan of an index) one of its platforms.
type Statement struct {
	PredicateType string
	Predicate     json.RawMessage
	// Platform, when set, is recorded on the attestation, and the
	// attestation replaces only the earlier one of its type and platform.
	Platform string
}

// Attest signs an in-toto statement about the image at d, wrapped in DSSE,
// and stores it as a cosign attestation, replacing an earlier attestation
// of the same predicate type.
func Attest(ctx context.Context, d name.Digest, k Signer, predicateType string, pred json.RawMessage, opts ...Option) (*Result, error) {
	return AttestAll(ctx, d, k, []Statement{{PredicateType: predicateType, Predicate: pred}}, opts...)
}

// AttestAll signs several statements about the image at d at once (the
// signing runs concurrently) and stores them in one write.
func AttestAll(ctx context.Context, d name.Digest, k Signer, stmts []Statement, opts ...Option) (*Result, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	atts := make([]oci.Signature, len(stmts))
	errs := make([]error, len(stmts))
	var wg sync.WaitGroup
	for i, st := range stmts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atts[i], errs[i] = attestation(ctx, d, k, st, o)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	se, err := ociremote.SignedEntity(d, o.ociRemote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	for i, att := range atts {
		se, err = mutate.AttachAttestationToEntity(se, att, mutate.WithReplaceOp(replaceByType{stmts[i].PredicateType, stmts[i].Platform, k}))
		if err != nil {
			return nil, err
		}
	}
	if err := ociremote.WriteAttestations(d.Repository, se, o.ociRemote(ctx)...); err != nil {
		return nil, fmt.Errorf("storing the attestations of %s: %w", d, err)
	}
	res := &Result{Digests: []name.Digest{d}, Tlog: !o.skipTlog}
	if ok, err := o.referrersSupported(ctx, d); err != nil {
		return nil, err
	} else if ok {
		atts, err := se.Attestations()
		if err != nil {
			return nil, err
		}
		if err := writeReferrer(ctx, d, atts, attestationArtifactType, "attestations", o); err != nil {
			return nil, fmt.Errorf("storing the attestations of %s as referrers: %w", d, err)
		}
		res.Referrers = true
	}
	return res, nil
}

func attestation(ctx context.Context, d name.Digest, k Signer, st Statement, o *options) (oci.Signature, error) {
	stmt, err := predicate.NewForPlatform(d, st.Platform, st.PredicateType, st.Predicate)
	if err != nil {
		return nil, err
	}
	envelope, sopts, err := k.signStatement(ctx, stmt, o)
	if err != nil {
		return nil, fmt.Errorf("signing the %s attestation: %w", st.PredicateType, err)
	}
	ann := map[string]string{"predicateType": st.PredicateType}
	if st.Platform != "" {
		ann[PlatformAnnotation] = st.Platform
	}
	sopts = append(sopts, static.WithLayerMediaType(ctypes.DssePayloadType), static.WithAnnotations(ann))
	return static.NewAttestation(envelope, sopts...)
}

// targets lists d and, when recursive, the images of the index at d.
func targets(ctx context.Context, d name.Digest, o *options) ([]name.Digest, error) {
	out := []name.Digest{d}
	if !o.recursive {
		return out, nil
	}
	desc, err := remote.Get(d, o.remote(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", d, err)
	}
	if !desc.MediaType.IsIndex() {
		return out, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, m := range im.Manifests {
		out = append(out, d.Context().Digest(m.Digest.String()))
	}
	return out, nil
}

// referrersSupported asks the registry for d's referrers directly:
// registries with the OCI 1.1 API answer 200 with an image index, others
// 404 (go-containerregistry's own check would fall back to tags).
func (o *options) referrersSupported(ctx context.Context, d name.Digest) (bool, error) {
	if o.referrers == ReferrersNever {
		return false, nil
	}
	repo := d.Context()
	auth, err := o.registry.Keychain().Resolve(repo)
	if err != nil {
		return false, err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, o.registry.Transport(), []string{repo.Scope(transport.PullScope)})
	if err != nil {
		return false, fmt.Errorf("asking %s for referrers: %w", repo, err)
	}
	u := url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/referrers/" + d.DigestStr()}
	// 200 with an index: served. 404, 400 or 405: not served (the tag
	// scheme alone is used). Anything else is a failure, retried, and then
	// an error: a registry having a bad moment must not silently lose the
	// referrers.
	var last int
	for attempt := 0; attempt < referrersAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return false, err
		}
		req.Header.Set("Accept", string(types.OCIImageIndex))
		resp, err := (&http.Client{Transport: rt}).Do(req)
		if err != nil {
			return false, fmt.Errorf("asking %s for referrers: %w", repo, err)
		}
		resp.Body.Close()
		last = resp.StatusCode
		switch {
		case resp.StatusCode == http.StatusOK:
			return resp.Header.Get("Content-Type") == string(types.OCIImageIndex), nil
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusMethodNotAllowed:
			return false, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			continue
		default:
			return false, fmt.Errorf("asking %s for referrers: HTTP %d", repo, resp.StatusCode)
		}
	}
	return false, fmt.Errorf("asking %s for referrers: HTTP %d after %d attempts", repo, last, referrersAttempts)
}

const referrersAttempts = 4

// Signatures returns the signatures stored for d under cosign's tag.
func Signatures(ctx context.Context, d name.Digest, opts ...Option) ([]oci.Signature, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	se, err := ociremote.SignedEntity(d, o.ociRemote(ctx)...)
	if err != nil {
		return nil, err
	}
	sigs, err := se.Signatures()
	if err != nil {
		return nil, err
	}
	return sigs.Get()
}
