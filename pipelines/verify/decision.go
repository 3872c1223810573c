package verify

import (
	"fmt"
	"strings"

	"github.com/sealyard/sealyard/pipelines/predicate"
)

// WithPolicyDigest requires the attested decision to have been made with
// the policy bundle of this digest (sha256:...).
func WithPolicyDigest(d string) Option {
	return func(o *options) error {
		if !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 {
			return fmt.Errorf("policy digest %q: want sha256: and 64 hex digits", d)
		}
		o.policyDigest = d
		return nil
	}
}

// WithAuditDecisionsUnsafe accepts an attested decision that FAILED the
// policies in audit mode (recorded, not enforced): the image was shipped
// although the gate would have denied it. Without it, --require decision
// accepts only a PASSED verdict.
func WithAuditDecisionsUnsafe() Option {
	return func(o *options) error {
		o.auditOK = true
		return nil
	}
}

// Decision is what a verified decision attestation (a SLSA verification
// summary) says.
type Decision struct {
	// Result is PASSED or FAILED.
	Result string `json:"result"`
	// Mode is enforce or audit.
	Mode string `json:"mode"`
	// Resource is the image the decision is about.
	Resource string `json:"resource"`
	// Policy, DB, Input and Decision are the digests the decision rests
	// on: the policy bundle, the vulnerability database, and the exact
	// bytes of policy-input.json and decision.json.
	Policy   string `json:"policy"`
	DB       string `json:"db,omitempty"`
	Input    string `json:"input,omitempty"`
	Decision string `json:"decision,omitempty"`
	// Unsafe lists the weakening settings the run recorded.
	Unsafe []string `json:"unsafe,omitempty"`
	Signer string   `json:"signer"`
	// Summary is the verified predicate.
	Summary *predicate.VerificationSummary `json:"-"`
}

func decisionOf(v *predicate.VerificationSummary, signer string) *Decision {
	d := &Decision{
		Result: v.VerificationResult, Mode: "enforce", Resource: v.ResourceURI,
		Policy: v.PolicyDigest(), DB: v.InputDigest(predicate.VSADBURI),
		Input: v.InputDigest(predicate.VSAInputURI), Decision: v.InputDigest(predicate.VSADecisionURI),
		Signer: signer, Summary: v,
	}
	if v.Audit() {
		d.Mode = "audit"
	}
	for _, l := range v.VerifiedLevels {
		if u, ok := strings.CutPrefix(l, "SEALYARD_UNSAFE_"); ok {
			d.Unsafe = append(d.Unsafe, u)
		}
	}
	return d
}

// judge says why a verified decision is not acceptable for the image at
// digest, or "" when it is.
func (o *options) judge(d *Decision, digest string) string {
	switch {
	case !strings.HasSuffix(d.Resource, "@"+digest):
		return fmt.Sprintf("the decision is about %s, not %s", d.Resource, digest)
	case o.policyDigest != "" && d.Policy != o.policyDigest:
		return fmt.Sprintf("the decision used policy %s, not the required %s", d.Policy, o.policyDigest)
	case d.Result == "PASSED":
		return ""
	case d.Mode == "audit" && o.auditOK:
		return ""
	case d.Mode == "audit":
		return "the decision FAILED the policies in audit mode (the image shipped without being gated); pass --allow-audit-decision to accept audit-mode results"
	default:
		return "the decision FAILED the policies"
	}
}
