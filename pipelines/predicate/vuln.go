package predicate

import (
	"encoding/json"
	"time"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// VulnPredicate is cosign's vulnerability attestation predicate
// (https://cosign.sigstore.dev/attestation/vuln/v1), with sealyard's
// findings document as the scanner result.
type VulnPredicate struct {
	Invocation VulnInvocation `json:"invocation"`
	Scanner    VulnScanner    `json:"scanner"`
	Metadata   VulnMetadata   `json:"metadata"`
}

// VulnInvocation says how the scan ran.
type VulnInvocation struct {
	Parameters json.RawMessage `json:"parameters"`
	URI        string          `json:"uri"`
	EventID    string          `json:"event_id"`
	BuilderID  string          `json:"builder.id"`
}

// VulnScanner names the scanner, its database and its result.
type VulnScanner struct {
	URI     string          `json:"uri"`
	Version string          `json:"version"`
	DB      VulnDB          `json:"db"`
	Result  json.RawMessage `json:"result"`
}

// VulnDB identifies the vulnerability database.
type VulnDB struct {
	URI     string `json:"uri"`
	Version string `json:"version"`
}

// VulnMetadata holds the scan's times.
type VulnMetadata struct {
	ScanStartedOn  time.Time `json:"scanStartedOn"`
	ScanFinishedOn time.Time `json:"scanFinishedOn"`
}

// NewVuln wraps a findings report in the vuln predicate.
func NewVuln(r *facts.Report, scannerVersion, invocationURI, builderID string, started, finished time.Time) (json.RawMessage, error) {
	result, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	p := VulnPredicate{
		Invocation: VulnInvocation{Parameters: json.RawMessage("[]"), URI: invocationURI, BuilderID: builderID},
		Scanner: VulnScanner{
			URI:     "https://github.com/sealyard/sealyard",
			Version: scannerVersion,
			DB:      VulnDB{URI: "grype-v6:" + r.DB.SchemaVersion, Version: r.DB.Digest},
			Result:  result,
		},
		Metadata: VulnMetadata{ScanStartedOn: started.UTC(), ScanFinishedOn: finished.UTC()},
	}
	return json.Marshal(p)
}

// Findings reads the findings report back out of a vuln predicate.
func Findings(predicate json.RawMessage) (*facts.Report, error) {
	var p VulnPredicate
	if err := json.Unmarshal(predicate, &p); err != nil {
		return nil, err
	}
	var r facts.Report
	if err := json.Unmarshal(p.Scanner.Result, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
