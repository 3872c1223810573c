package verify

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/empty"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/registry"
)

// ErrVerification is wrapped by every verification failure (as opposed to
// an error reaching the registry or reading a key). The CLI exits 1 on it.
var ErrVerification = errors.New("verification failed")

// Option configures Verify.
type Option func(*options) error

type options struct {
	registry   *registry.Client
	key        signature.Verifier
	keyRef     string
	identities []cosign.Identity
	trusted    root.TrustedMaterial
	require    []string
	skipTlog   bool
	skipSCT    bool

	policyDigest string
	auditOK      bool
}

// WithKey accepts signatures made by the key behind v (ref names it in
// messages).
func WithKey(v signature.Verifier, ref string) Option {
	return func(o *options) error {
		o.key, o.keyRef = v, ref
		return nil
	}
}

// WithKeyless accepts keyless signatures whose certificate names subject
// (or matches subjectRegexp) and issuer, chained to a Fulcio authority of
// the trusted material and recorded in one of its Rekor logs.
func WithKeyless(subject, subjectRegexp, issuer string, trusted root.TrustedMaterial) Option {
	return func(o *options) error {
		if subject == "" && subjectRegexp == "" {
			return errors.New("keyless verification needs --certificate-identity or --certificate-identity-regexp")
		}
		if issuer == "" {
			return errors.New("keyless verification needs --certificate-oidc-issuer")
		}
		if trusted == nil {
			return errors.New("keyless verification needs trusted material (Fulcio and Rekor keys)")
		}
		o.identities = append(o.identities, cosign.Identity{Subject: subject, SubjectRegExp: subjectRegexp, Issuer: issuer})
		o.trusted = trusted
		return nil
	}
}

// WithRequire requires attestations: sbom, vuln, provenance, decision.
func WithRequire(kinds ...string) Option {
	return func(o *options) error {
		for _, k := range kinds {
			if _, ok := predicate.Requirements[k]; !ok {
				return fmt.Errorf("unknown attestation requirement %q (want sbom, vuln, provenance, decision, vex or secrets)", k)
			}
			o.require = append(o.require, k)
		}
		return nil
	}
}

// WithRegistry sets credentials, TLS trust and retries.
func WithRegistry(c *registry.Client) Option {
	return func(o *options) error {
		o.registry = c
		return nil
	}
}

// WithTrustedMaterial trusts the transparency logs (and certificate
// authorities) of a Sigstore trusted root: how key-based signatures that
// were logged are checked offline.
func WithTrustedMaterial(tm root.TrustedMaterial) Option {
	return func(o *options) error {
		o.trusted = tm
		return nil
	}
}

// WithoutTlogUnsafe accepts signatures that no transparency log recorded
// (signed with sign.WithoutTlogUnsafe, offline).
func WithoutTlogUnsafe() Option {
	return func(o *options) error {
		o.skipTlog = true
		return nil
	}
}

// WithoutSCTUnsafe accepts keyless certificates without a signed
// certificate timestamp: a private Fulcio that logs to no CT log. Without
// it, every keyless certificate must carry an SCT from a CT log of the
// trusted root.
func WithoutSCTUnsafe() Option {
	return func(o *options) error {
		o.skipSCT = true
		return nil
	}
}

// Signature is a signature that verified.
type Signature struct {
	Signer      string            `json:"signer"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Logged      bool              `json:"logged"`
}

// Attestation is an attestation that verified.
type Attestation struct {
	PredicateType string               `json:"predicateType"`
	Platform      string               `json:"platform,omitempty"`
	Subjects      []string             `json:"subjects"`
	Signer        string               `json:"signer"`
	Statement     *predicate.Statement `json:"-"`
}

// Result is what verified.
type Result struct {
	Reference    string        `json:"reference"`
	Digest       string        `json:"digest"`
	Signatures   []Signature   `json:"signatures"`
	Attestations []Attestation `json:"attestations"`
	// Decision is the gate's attested decision, when one verified.
	Decision *Decision `json:"decision,omitempty"`
}

// Attested returns the verified statements of a predicate type.
func (r *Result) Attested(predicateType string) []*predicate.Statement {
	var out []*predicate.Statement
	for _, a := range r.Attestations {
		if a.PredicateType == predicateType {
			out = append(out, a.Statement)
		}
	}
	return out
}

// Verify checks ref (a tag or a digest reference).
func Verify(ctx context.Context, ref string, opts ...Option) (*Result, error) {
	o := &options{}
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
	if o.key == nil && len(o.identities) == 0 {
		return nil, errors.New("give a public key or a keyless identity to verify against")
	}
	r, err := name.ParseReference(strings.TrimPrefix(ref, "registry:"), o.registry.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	ropts := o.registry.RemoteOptions(ctx)
	desc, err := remote.Head(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", r, err)
	}
	d := r.Context().Digest(desc.Digest.String())
	if rd, ok := r.(name.Digest); ok && rd.DigestStr() != desc.Digest.String() {
		return nil, fmt.Errorf("%w: %s: the registry serves %s for digest %s", ErrVerification, ref, desc.Digest, rd.DigestStr())
	}
	co := &cosign.CheckOpts{
		RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(ropts...), ociremote.WithNameOptions(o.registry.NameOptions()...)},
		SigVerifier:        o.key,
		Identities:         o.identities,
		TrustedMaterial:    o.trusted,
		IgnoreTlog:         o.skipTlog,
		IgnoreSCT:          o.skipSCT,
		Offline:            true,
	}
	if !o.skipTlog && o.trusted == nil {
		return nil, fmt.Errorf("checking the transparency log needs a Sigstore trusted root (Rekor's keys): give trusted material (--trusted-root FILE, or the TUF repository by default), or accept unlogged signatures with --skip-tlog-unsafe")
	}
	res := &Result{Reference: r.String(), Digest: desc.Digest.String()}
	if err := o.signatures(ctx, r, d, desc.Digest, co, res); err != nil {
		return res, err
	}
	if err := o.attestations(ctx, d, desc.Digest, co, res); err != nil {
		return res, err
	}
	return res, nil
}

func (o *options) expected() string {
	if o.key != nil {
		return "the key " + o.keyRef
	}
	var ids []string
	for _, id := range o.identities {
		s := id.Subject
		if s == "" {
			s = "~" + id.SubjectRegExp
		}
		ids = append(ids, fmt.Sprintf("identity %s from issuer %s", s, id.Issuer))
	}
	return strings.Join(ids, " or ")
}

func (o *options) signatures(ctx context.Context, r name.Reference, d name.Digest, h v1.Hash, co *cosign.CheckOpts, res *Result) error {
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	se, err := ociremote.SignedEntity(d, co.RegistryClientOpts...)
	if err != nil {
		return fmt.Errorf("reading %s: %w", d, err)
	}
	sigs, err := se.Signatures()
	if err != nil {
		return fmt.Errorf("reading the signatures of %s: %w", d, err)
	}
	all, err := sigs.Get()
	if err != nil {
		return fmt.Errorf("reading the signatures of %s: %w", d, err)
	}
	where := d.String()
	if _, isTag := r.(name.Tag); isTag {
		where = fmt.Sprintf("%s (which %s points at now)", d.DigestStr(), r)
	}
	if len(all) == 0 {
		return fmt.Errorf("%w: expected a signature by %s on %s; found no signature at all (cosign tag %s)",
			ErrVerification, o.expected(), where, sigTag(d))
	}
	var problems []string
	for i, s := range all {
		bundleOK, err := cosign.VerifyImageSignature(ctx, s, h, co)
		if err != nil {
			problems = append(problems, fmt.Sprintf("signature %d: %s (signed by %s)", i+1, shorten(err), signerOf(s)))
			continue
		}
		ann := map[string]string{}
		if p, err := s.Payload(); err == nil {
			var sp struct {
				Optional map[string]any `json:"optional"`
			}
			if json.Unmarshal(p, &sp) == nil {
				for k, v := range sp.Optional {
					ann[k] = fmt.Sprint(v)
				}
			}
		}
		res.Signatures = append(res.Signatures, Signature{Signer: signerOf(s), Annotations: ann, Logged: bundleOK})
	}
	if len(res.Signatures) == 0 {
		return fmt.Errorf("%w: expected a signature by %s on %s; found %d signature(s), none valid: %s",
			ErrVerification, o.expected(), where, len(all), strings.Join(problems, "; "))
	}
	return nil
}

func (o *options) attestations(ctx context.Context, d name.Digest, h v1.Hash, co *cosign.CheckOpts, res *Result) error {
	co.ClaimVerifier = cosign.IntotoSubjectClaimVerifier
	se, err := ociremote.SignedEntity(d, co.RegistryClientOpts...)
	if err != nil {
		return err
	}
	atts, err := se.Attestations()
	if err != nil {
		return fmt.Errorf("reading the attestations of %s: %w", d, err)
	}
	all, err := atts.Get()
	if err != nil {
		return fmt.Errorf("reading the attestations of %s: %w", d, err)
	}
	var problems []string
	for i, a := range all {
		stmt, perr := statementOf(a)
		kind := "unreadable"
		if stmt != nil {
			kind = stmt.PredicateType
		}
		one, err := mutate.AppendSignatures(empty.Signatures(), false, a)
		if err != nil {
			return err
		}
		if _, _, err := cosign.VerifyImageAttestation(ctx, one, h, co); err != nil {
			switch {
			case perr != nil:
				problems = append(problems, fmt.Sprintf("attestation %d: %v", i+1, perr))
			case !stmt.About(d.DigestStr()):
				problems = append(problems, fmt.Sprintf("attestation %d (%s) is about %s, not %s", i+1, kind, strings.Join(stmt.SubjectDigests(), ", "), d.DigestStr()))
			default:
				problems = append(problems, fmt.Sprintf("attestation %d (%s): %s (signed by %s)", i+1, kind, shorten(err), signerOf(a)))
			}
			continue
		}
		if perr != nil {
			problems = append(problems, fmt.Sprintf("attestation %d: %v", i+1, perr))
			continue
		}
		res.Attestations = append(res.Attestations, Attestation{
			PredicateType: stmt.PredicateType, Platform: stmt.Platform(), Subjects: stmt.SubjectDigests(), Signer: signerOf(a), Statement: stmt,
		})
	}
	var rejectedDecisions []string
	for _, a := range res.Attestations {
		if a.PredicateType != predicate.VSA {
			continue
		}
		v, err := predicate.ParseVSA(a.Statement.Predicate)
		if err != nil {
			rejectedDecisions = append(rejectedDecisions, err.Error())
			continue
		}
		dec := decisionOf(v, a.Signer)
		if why := o.judge(dec, d.DigestStr()); why != "" {
			rejectedDecisions = append(rejectedDecisions, why)
			if res.Decision == nil {
				res.Decision = dec
			}
			continue
		}
		res.Decision = dec
	}
	var missing []string
	for _, req := range o.require {
		if req == "decision" && len(rejectedDecisions) > 0 {
			// Every verified decision must be acceptable: a FAILED one
			// beside a PASSED one is not a pass.
			return fmt.Errorf("%w: expected a decision that PASSED the gate for %s, signed by %s; found: %s",
				ErrVerification, d.DigestStr(), o.expected(), strings.Join(rejectedDecisions, "; "))
		}
		ok := false
		for _, t := range predicate.Requirements[req] {
			if len(res.Attested(t)) > 0 {
				ok = true
			}
		}
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (%s)", req, strings.Join(predicate.Requirements[req], " or ")))
		}
	}
	if len(missing) > 0 {
		var found []string
		for _, a := range res.Attestations {
			found = append(found, a.PredicateType)
		}
		sort.Strings(found)
		msg := fmt.Sprintf("expected attestations %s signed by %s about %s; found verified: [%s]",
			strings.Join(missing, ", "), o.expected(), d.DigestStr(), strings.Join(found, ", "))
		if len(problems) > 0 {
			msg += "; rejected: " + strings.Join(problems, "; ")
		}
		return fmt.Errorf("%w: %s", ErrVerification, msg)
	}
	return nil
}

// statementOf reads the in-toto statement inside an attestation's DSSE
// envelope (not yet verified).
func statementOf(a oci.Signature) (*predicate.Statement, error) {
	raw, err := a.Payload()
	if err != nil {
		return nil, err
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("not a DSSE envelope: %w", err)
	}
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("DSSE payload is not base64: %w", err)
	}
	return predicate.Parse(body)
}

// signerOf describes who made a signature: the certificate's identity and
// issuer for keyless, "a key" otherwise (the key itself is not known).
func signerOf(s oci.Signature) string {
	cert, err := s.Cert()
	if err != nil || cert == nil {
		return "a key"
	}
	ce := cosign.CertExtensions{Cert: cert}
	ids := append(append([]string{}, cert.EmailAddresses...), urls(cert)...)
	return fmt.Sprintf("identity %s from issuer %s", strings.Join(ids, ","), ce.GetIssuer())
}

func urls(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

func sigTag(d name.Digest) string {
	return d.Context().String() + ":" + strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig"
}

func shorten(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "does not include required embedded SCT"):
		return "the certificate carries no signed certificate timestamp (SCT) from a CT log of the trusted root; for a private Fulcio without a CT log pass --insecure-ignore-sct"
	case strings.Contains(s, "rekor log public key not found") || strings.Contains(s, "transparency log public key"):
		return "its transparency log entry is from a Rekor log the trusted root does not name; give the trusted root of that log (--trusted-root FILE, or --tuf-mirror/--tuf-root)"
	case strings.Contains(s, "offline verification failed") || strings.Contains(s, "signature not found in transparency log") || strings.Contains(s, "no valid tlog entries") || strings.Contains(s, "bundle does not contain"):
		return "it carries no transparency log entry (it was signed offline); accept such signatures with --skip-tlog-unsafe"
	}
	if strings.Contains(s, "invalid signature when validating ASN.1 encoded signature") || strings.Contains(s, "crypto/ecdsa: verification error") ||
		strings.Contains(s, "accepted signatures do not match threshold") {
		return "the signature does not verify with the accepted key (another key signed it, or the payload was changed)"
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
