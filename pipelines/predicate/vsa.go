package predicate

import (
	"encoding/json"
	"strings"
	"time"
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
	Violations  []string
	ToolVersion string
	Time        time.Time
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
	v := VerificationSummary{
		Verifier:           VSAVerifier{ID: "https://github.com/sealyard/sealyard/gate", Version: map[string]string{"sealyard": d.ToolVersion}},
		TimeVerified:       d.Time.UTC(),
		ResourceURI:        d.ResourceURI,
		Policy:             ResourceDescriptor{URI: "https://sealyard.dev/policy-bundle", Digest: digestMap(d.PolicyDigest)},
		VerificationResult: result,
		VerifiedLevels:     levels,
	}
	for _, in := range []struct{ uri, digest string }{
		{"https://sealyard.dev/vulnerability-db", d.DBDigest},
		{"https://sealyard.dev/policy-input", d.InputDigest},
		{"https://sealyard.dev/decision", d.DecisionDigest},
	} {
		if in.digest != "" {
			v.InputAttestations = append(v.InputAttestations, ResourceDescriptor{URI: in.uri, Digest: digestMap(in.digest)})
		}
	}
	return json.Marshal(v)
}

func digestMap(d string) map[string]string {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		return nil
	}
	return map[string]string{algo: hex}
}
