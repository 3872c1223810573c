package predicate

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// VerificationSummary is a SLSA Verification Summary Attestation v1: the
// gate's decision, with the policy and database it rests on.
type VerificationSummary struct {
	Verifier           VSAVerifier          `json:"verifier"`
	TimeVerified       time.Time            `json:"timeVerified"`
	ResourceURI        string               `json:"resourceUri"`
	Policy             ResourceDescriptor   `json:"policy"`
	InputAttestations  []ResourceDescriptor `json:"inputAttestations,omitempty"`
	VerificationResult string               `json:"verificationResult"`
	VerifiedLevels     []string             `json:"verifiedLevels"`
	SlsaVersion        string               `json:"slsaVersion,omitempty"`
}

// VSAVerifier identifies who verified.
type VSAVerifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// DecisionInput is the part of a gate decision a VSA records.
type DecisionInput struct {
	// Passed is true when the gate allowed the image.
	Passed bool
	// Audit marks a decision made in audit mode: recorded, not enforced.
	Audit bool
	// ResourceURI names the image (a reference with digest).
	ResourceURI string
	// PolicyDigest, DBDigest, InputDigest and DecisionDigest are sha256:...
	PolicyDigest, DBDigest, InputDigest, DecisionDigest string
	// Violations are the rule ids that failed.
	Violations []string
	// UnsafeSettings names the weakening settings the run used
	// (skipping TLS verification, the transparency log, ...).
	UnsafeSettings []string
	ToolVersion    string
	Time           time.Time
	// Risk is the decision's risk score: its band becomes a level
	// (SEALYARD_RISK_HIGH), its score one more (SEALYARD_RISK_SCORE_436).
	Risk *facts.Risk
}

// NewVSA builds a verification summary of a gate decision.
func NewVSA(d DecisionInput) (json.RawMessage, error) {
	result := "FAILED"
	if d.Passed {
		result = "PASSED"
	}
	levels := []string{"SEALYARD_GATE_" + result}
	if d.Audit {
		levels = append(levels, "SEALYARD_GATE_AUDIT_ONLY")
	}
	for _, v := range d.Violations {
		levels = append(levels, "SEALYARD_VIOLATION_"+strings.ReplaceAll(v, "-", "_"))
	}
	if d.Risk != nil {
		levels = append(levels, "SEALYARD_RISK_"+strings.ToUpper(d.Risk.Band), fmt.Sprintf("SEALYARD_RISK_SCORE_%d", d.Risk.Score))
	}
	for _, u := range d.UnsafeSettings {
		levels = append(levels, "SEALYARD_UNSAFE_"+strings.ToUpper(strings.NewReplacer("-", "_", "=", "_", ".", "_", ":", "_", "/", "_").Replace(strings.TrimLeft(u, "-"))))
	}
	v := VerificationSummary{
		Verifier:           VSAVerifier{ID: "https://github.com/sealyard/sealyard/gate", Version: map[string]string{"sealyard": d.ToolVersion}},
		TimeVerified:       d.Time.UTC(),
		ResourceURI:        d.ResourceURI,
		Policy:             ResourceDescriptor{URI: "https://sealyard.dev/policy-bundle", Digest: digestMap(d.PolicyDigest)},
		VerificationResult: result,
		VerifiedLevels:     levels,
	}
	for _, in := range []struct{ uri, digest string }{
		{VSADBURI, d.DBDigest},
		{VSAInputURI, d.InputDigest},
		{VSADecisionURI, d.DecisionDigest},
	} {
		if in.digest != "" {
			v.InputAttestations = append(v.InputAttestations, ResourceDescriptor{URI: in.uri, Digest: digestMap(in.digest)})
		}
	}
	return json.Marshal(v)
}

// The URIs under which a VSA lists what the decision rests on. The input
// and decision digests are sha256 of policy-input.json and decision.json
// exactly as written.
const (
	VSADBURI       = "https://sealyard.dev/vulnerability-db"
	VSAInputURI    = "https://sealyard.dev/policy-input"
	VSADecisionURI = "https://sealyard.dev/decision"
	// VSAAuditLevel marks a decision made in audit mode.
	VSAAuditLevel = "SEALYARD_GATE_AUDIT_ONLY"
)

// ParseVSA reads a verification summary predicate.
func ParseVSA(raw []byte) (*VerificationSummary, error) {
	var v VerificationSummary
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("not a verification summary: %w", err)
	}
	if v.VerificationResult != "PASSED" && v.VerificationResult != "FAILED" {
		return nil, fmt.Errorf("verification summary result %q is neither PASSED nor FAILED", v.VerificationResult)
	}
	return &v, nil
}

// Audit reports whether the decision was made in audit mode.
func (v *VerificationSummary) Audit() bool {
	for _, l := range v.VerifiedLevels {
		if l == VSAAuditLevel {
			return true
		}
	}
	return false
}

// InputDigest returns the digest ("sha256:HEX") recorded for an input
// attestation URI, or "".
func (v *VerificationSummary) InputDigest(uri string) string {
	for _, in := range v.InputAttestations {
		if in.URI == uri {
			for algo, hex := range in.Digest {
				return algo + ":" + hex
			}
		}
	}
	return ""
}

// PolicyDigest is the digest of the policy bundle the decision used.
func (v *VerificationSummary) PolicyDigest() string {
	for algo, hex := range v.Policy.Digest {
		return algo + ":" + hex
	}
	return ""
}

func digestMap(d string) map[string]string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		return nil
	}
	return map[string]string{algo: hex}
}
