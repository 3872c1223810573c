package facts

// SecretsSchema identifies the secrets report format
// (policies/secrets-report.schema.json).
const SecretsSchema = "sealyard.dev/secrets/v1"

// SecretStatus says whether a finding's file is still in the image's file
// system.
type SecretStatus string

const (
	// SecretPresent: the file is in the final file system (and always for
	// source trees).
	SecretPresent SecretStatus = "present"
	// SecretDeleted: a later layer deletes the file or a directory above
	// it, but the layer that holds it is still in the image.
	SecretDeleted SecretStatus = "deleted"
	// SecretShadowed: a later layer writes another entry at the same path.
	SecretShadowed SecretStatus = "shadowed"
)

// SecretLayer locates a finding in an image.
type SecretLayer struct {
	Index  int    `json:"index"`
	Digest string `json:"digest"`
	DiffID string `json:"diff_id"`
}

// SecretFinding is one credential. It holds where the credential is and
// which rule found it, never the credential, the match or the line.
type SecretFinding struct {
	Rule        string `json:"rule"`
	Description string `json:"description"`
	File        string `json:"file"`
	Line        int    `json:"line"`
	Column      int    `json:"column"`
	// Fingerprint is gitleaks' global fingerprint: file:rule:line.
	Fingerprint string       `json:"fingerprint"`
	Status      SecretStatus `json:"status"`
	Platform    string       `json:"platform,omitempty"`
	Layer       *SecretLayer `json:"layer,omitempty"`
	// Allowed names the allow-list entry that accepts the finding; an
	// allowed finding is reported and never denies.
	Allowed string `json:"allowed,omitempty"`
	// Baseline is new or known against a baseline's secrets attestation
	// (empty without one).
	Baseline string `json:"baseline,omitempty"`
}

// SecretsReport is the result of one secrets scan.
type SecretsReport struct {
	Schema   string          `json:"schema"`
	Target   string          `json:"target"`
	Kind     string          `json:"kind"` // "tree" or "image"
	RuleSet  string          `json:"rule_set"`
	Rules    int             `json:"rules"`
	Scanned  SecretCounts    `json:"scanned"`
	Findings []SecretFinding `json:"findings"`
}

// SecretCounts says how much was read.
type SecretCounts struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Skipped counts entries not read: over the size limit, or not
	// regular files.
	Skipped int `json:"skipped"`
	Layers  int `json:"layers,omitempty"`
}

// Denying returns the findings no allow-list entry accepts.
func (r *SecretsReport) Denying() []SecretFinding {
	var out []SecretFinding
	for _, f := range r.Findings {
		if f.Allowed == "" {
			out = append(out, f)
		}
	}
	return out
}
