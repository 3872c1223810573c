package assess

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/verify"
)

// ErrReplayMismatch is wrapped when a replayed decision differs from the
// attested one, or the attested input is not the one the decision names.
var ErrReplayMismatch = errors.New("the attested decision does not replay")

// Replayed is the outcome of replaying an attested decision.
type Replayed struct {
	// Decision is the decision the gate makes now on the attested input.
	Decision *facts.Decision
	// DecisionDigest is the sha256 of that decision as decision.json.
	DecisionDigest string
	// Attested is what the verified decision attestation says.
	Attested *verify.Decision
}

// Replay recomputes the gate's decision from the attested policy input
// (itself made of the attested SBOMs and findings) with the engine, and
// checks it against the verified decision attestation: the input's digest
// must be the one the decision names, the policy bundle the same, and the
// recomputed decision.json byte for byte the attested one. A difference
// is an error wrapping ErrReplayMismatch (and verify.ErrVerification)
// that says what differs.
func Replay(ctx context.Context, res *verify.Result, e *policy.Engine) (*Replayed, error) {
	if res.Decision == nil {
		return nil, fmt.Errorf("%w: %w: no verified decision attestation (%s) to replay", verify.ErrVerification, ErrReplayMismatch, predicate.VSA)
	}
	att := res.Decision
	inputs := res.Attested(predicate.PolicyInput)
	if len(inputs) == 0 {
		return nil, fmt.Errorf("%w: %w: no verified policy input attestation (%s) beside the decision", verify.ErrVerification, ErrReplayMismatch, predicate.PolicyInput)
	}
	var raw []byte
	var found []string
	for _, st := range inputs {
		var in policy.Input
		dec := json.NewDecoder(bytes.NewReader(st.Predicate))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			found = append(found, "unreadable: "+err.Error())
			continue
		}
		b, err := facts.Encode(in)
		if err != nil {
			return nil, err
		}
		if facts.Digest(b) == att.Input {
			raw = b
			break
		}
		found = append(found, facts.Digest(b))
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: %w: the decision names input %s; the attested inputs are %s", verify.ErrVerification, ErrReplayMismatch, att.Input, strings.Join(found, ", "))
	}
	d, err := e.Replay(ctx, raw, facts.Mode(att.Mode))
	if err != nil {
		if errors.Is(err, policy.ErrPolicyMismatch) {
			return nil, fmt.Errorf("%w: %w: %w", verify.ErrVerification, ErrReplayMismatch, err)
		}
		return nil, err
	}
	b, err := facts.Encode(d)
	if err != nil {
		return nil, err
	}
	out := &Replayed{Decision: d, DecisionDigest: facts.Digest(b), Attested: att}
	wantResult := "FAILED"
	if d.Verdict == "pass" {
		wantResult = "PASSED"
	}
	if out.DecisionDigest != att.Decision || wantResult != att.Result {
		return out, fmt.Errorf("%w: %w: attested %s (decision %s), replayed %s (decision %s): %s", verify.ErrVerification, ErrReplayMismatch,
			att.Result, att.Decision, wantResult, out.DecisionDigest, violationDiff(att.Summary, d))
	}
	return out, nil
}

// violationDiff says which rules the attested and the replayed decisions
// disagree on.
func violationDiff(v *predicate.VerificationSummary, d *facts.Decision) string {
	attested := map[string]bool{}
	for _, l := range v.VerifiedLevels {
		if r, ok := strings.CutPrefix(l, "SEALYARD_VIOLATION_"); ok {
			attested[strings.ReplaceAll(r, "_", "-")] = true
		}
	}
	replayed := map[string]bool{}
	for _, x := range d.Violations {
		replayed[x.Rule] = true
	}
	var only, lost []string
	for r := range replayed {
		if !attested[r] {
			only = append(only, r)
		}
	}
	for r := range attested {
		if !replayed[r] {
			lost = append(lost, r)
		}
	}
	sort.Strings(only)
	sort.Strings(lost)
	switch {
	case len(only)+len(lost) == 0:
		return "the same rules fail, but the decision documents differ"
	default:
		return fmt.Sprintf("violations only in the replay [%s], only in the attestation [%s]", strings.Join(only, ", "), strings.Join(lost, ", "))
	}
}

// FromAttestations assembles the gate's input from what verified
// attestations say: one SBOM per platform (CycloneDX when attested, else
// SPDX) and the scans. The platform of each document is the one its
// signed statement names, else the document's own, else the image's only
// platform.
func FromAttestations(img policy.Image, prov policy.Provenance, res *verify.Result) (policy.Input, error) {
	var platforms []Platform
	seen := map[string]bool{}
	for _, pt := range []string{predicate.CycloneDX, predicate.SPDX} {
		for _, st := range res.Attested(pt) {
			doc, _, err := sbom.Decode(bytes.NewReader(st.Predicate))
			if err != nil {
				return policy.Input{}, fmt.Errorf("the attested %s SBOM: %w", pt, err)
			}
			p := attestedPlatform(st.Platform(), sbom.PlatformOf(doc), img.Platforms)
			if seen[p] {
				continue
			}
			seen[p] = true
			platforms = append(platforms, Platform{Name: p, Packages: sbom.Packages(&sbom.Document{SBOM: doc}), HasSBOM: true})
		}
	}
	for _, st := range res.Attested(predicate.Vuln) {
		rep, err := predicate.Findings(st.Predicate)
		if err != nil {
			return policy.Input{}, fmt.Errorf("the attested vulnerability scan: %w", err)
		}
		fromDoc := ""
		if rep.Image != nil {
			fromDoc = rep.Image.Platform
		}
		platforms = append(platforms, Platform{Name: attestedPlatform(st.Platform(), fromDoc, img.Platforms), Report: rep})
	}
	return Assemble(img, prov, platforms), nil
}

func attestedPlatform(signed, fromDoc string, platforms []string) string {
	switch {
	case signed != "":
		return signed
	case fromDoc != "":
		return fromDoc
	case len(platforms) == 1:
		return platforms[0]
	}
	return ""
}

// AttestedVEX returns the OpenVEX documents among the verified
// attestations of res (sealyard's reachability statements, or any other
// signed the same way). An attestation that is not a valid OpenVEX
// document is an error: a signer vouched for it.
func AttestedVEX(res *verify.Result) ([]*policy.VEXDocument, error) {
	var out []*policy.VEXDocument
	for i, st := range res.Attested(predicate.OpenVEX) {
		doc, err := policy.ParseVEX(st.Predicate, fmt.Sprintf("the attested OpenVEX document %d of %s", i+1, res.Digest))
		if err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
	return out, nil
}

// RegistryBaseline verifies the image ref (its signature and its
// vulnerability attestation, with opts: the key or keyless identity, the
// registry) and returns the baseline its attested findings make, named
// REPOSITORY@DIGEST. A baseline that does not verify is an error.
func RegistryBaseline(ctx context.Context, ref string, opts ...verify.Option) (*policy.Baseline, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("--baseline %s: %w", ref, err)
	}
	res, err := verify.Verify(ctx, r.String(), append([]verify.Option{verify.WithRequire("vuln")}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("--baseline %s does not verify: %w", ref, err)
	}
	return AttestedBaseline(res, r.Context().String()+"@"+res.Digest)
}

// AttestedBaseline is the baseline the verified vulnerability
// attestations of res make: the findings the previous image was shipped
// with. source names it (REF@DIGEST). Without a vulnerability
// attestation there is no baseline, and that is an error: a baseline that
// cannot be trusted is never silently ignored.
func AttestedBaseline(res *verify.Result, source string) (*policy.Baseline, error) {
	sts := res.Attested(predicate.Vuln)
	if len(sts) == 0 {
		return nil, fmt.Errorf("%w %s: the image has no vulnerability attestation signed by the expected signer", policy.ErrBadBaseline, source)
	}
	b := policy.NewBaseline(source)
	for _, st := range sts {
		rep, err := predicate.Findings(st.Predicate)
		if err != nil {
			return nil, fmt.Errorf("%w %s: the attested vulnerability scan: %w", policy.ErrBadBaseline, source, err)
		}
		b.AddFindings(rep.Findings)
	}
	for _, st := range res.Attested(predicate.Secrets) {
		var rep facts.SecretsReport
		if err := json.Unmarshal(st.Predicate, &rep); err != nil || rep.Schema != facts.SecretsSchema {
			return nil, fmt.Errorf("%w %s: the attested secrets report is not one", policy.ErrBadBaseline, source)
		}
		b.AddSecrets(&rep)
	}
	return b, nil
}
