package facts

// DecisionSchema identifies the decision document format.
const DecisionSchema = "sealyard.dev/decision/v1"

// Mode says whether a failing verdict denies.
type Mode string

// Gate modes.
const (
	// Enforce denies when a deny rule fires.
	Enforce Mode = "enforce"
	// Audit evaluates and reports everything, and denies nothing: for teams
	// adopting the gate step by step.
	Audit Mode = "audit"
)

// Decision is the gate's verdict and its reasons.
type Decision struct {
	SchemaVersion string `json:"schemaVersion"`
	// Decision is allow or deny.
	Decision string `json:"decision"`
	// Verdict is what the policies say (pass or fail), whatever the mode.
	Verdict    string        `json:"verdict"`
	Mode       Mode          `json:"mode"`
	Image      DecisionImage `json:"image"`
	Violations []Violation   `json:"violations"`
	Warnings   []Violation   `json:"warnings"`
	// Exceptions lists the exceptions that suppressed violations.
	Exceptions []AppliedException `json:"exceptions"`
	// VEX lists the VEX statements that removed findings.
	VEX []VEXApplied `json:"vex"`
	// New lists the findings the baseline does not have, Fixed the
	// baseline's findings this image no longer has (with a baseline): what
	// this change introduced and what it fixed.
	New []FindingRef `json:"new,omitempty"`
	// Risk is the image's risk score (facts.RiskOf).
	Risk  *Risk        `json:"risk,omitempty"`
	Fixed []FindingRef `json:"fixed,omitempty"`
	// NewSecrets and FixedSecrets are the fingerprints of credentials the
	// baseline did not have, and of the baseline's that are gone.
	NewSecrets   []string        `json:"newSecrets,omitempty"`
	FixedSecrets []string        `json:"fixedSecrets,omitempty"`
	Counts       Counts          `json:"counts"`
	Digests      DecisionDigests `json:"digests"`
}

// DecisionImage names the image decided on.
type DecisionImage struct {
	Reference string   `json:"reference"`
	Digest    string   `json:"digest"`
	Platforms []string `json:"platforms"`
}

// Violation is one rule result.
type Violation struct {
	Rule     string       `json:"rule"`
	Title    string       `json:"title,omitempty"`
	Message  string       `json:"message"`
	Findings []FindingRef `json:"findings,omitempty"`
	Packages []PackageRef `json:"packages,omitempty"`
}

// PackageRef points at an SBOM package.
type PackageRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	PURL    string `json:"purl,omitempty"`
}

// AppliedException is an exception and the violations it suppressed.
type AppliedException struct {
	ExceptionFact
	Suppressed []Violation `json:"suppressed"`
}

// Counts summarise the decision.
type Counts struct {
	Findings              int `json:"findings"`
	Violations            int `json:"violations"`
	Warnings              int `json:"warnings"`
	SuppressedByException int `json:"suppressedByException"`
	SuppressedByVEX       int `json:"suppressedByVEX"`
	NewFindings           int `json:"newFindings"`
	KnownFindings         int `json:"knownFindings"`
	// FixedFindings counts the baseline's findings that are gone.
	FixedFindings int `json:"fixedFindings,omitempty"`
}

// DecisionDigests identify everything the decision rests on.
type DecisionDigests struct {
	Image  string `json:"image"`
	DB     string `json:"db"`
	Policy string `json:"policy"`
	Input  string `json:"input"`
}

// Allowed reports whether the image may proceed.
func (d *Decision) Allowed() bool { return d.Decision == "allow" }

// VEXApplied is one VEX statement that removed findings.
type VEXApplied struct {
	Vulnerability   string       `json:"vulnerability"`
	Status          string       `json:"status"`
	Justification   string       `json:"justification,omitempty"`
	ImpactStatement string       `json:"impact_statement,omitempty"`
	Document        string       `json:"document"`
	Product         string       `json:"product,omitempty"`
	Findings        []FindingRef `json:"findings"`
}

// ExceptionFact is an exception as the policies see it.
type ExceptionFact struct {
	ID            string `json:"id,omitempty"`
	Selector      string `json:"selector"`
	Vulnerability string `json:"vulnerability,omitempty"`
	Package       string `json:"package,omitempty"`
	Rule          string `json:"rule,omitempty"`
	Image         string `json:"image,omitempty"`
	Reason        string `json:"reason"`
	Owner         string `json:"owner"`
	Expires       string `json:"expires"`
}

// FindingRef points at a finding.
type FindingRef struct {
	ID      string `json:"id"`
	Package string `json:"package"`
	Version string `json:"version"`
	PURL    string `json:"purl,omitempty"`
}
