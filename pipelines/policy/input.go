package policy

import (
	"sort"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// InputVersion identifies the input document format.
const InputVersion = "sealyard.dev/policy-input/v1"

// Input is the one document the policies see. Its JSON Schema is
// policies/input.schema.json.
type Input struct {
	Version    string          `json:"version"`
	Image      Image           `json:"image"`
	SBOM       SBOM            `json:"sbom"`
	Findings   []facts.Finding `json:"findings"`
	Provenance Provenance      `json:"provenance"`
	VEX        VEXFacts        `json:"vex"`
	Exceptions ExceptionFacts  `json:"exceptions"`
	Baseline   *BaselineFacts  `json:"baseline,omitempty"`
	Risk       *facts.Risk     `json:"risk,omitempty"`
	Secrets    *SecretsFacts   `json:"secrets,omitempty"`
	Digests    Digests         `json:"digests"`
}

// BaselineFacts say what the findings were marked against: the
// baseline's source (a file, or REF@DIGEST of a verified attestation) and
// its findings this image no longer has.
type BaselineFacts struct {
	Source string       `json:"source"`
	Fixed  []FindingRef `json:"fixed"`
	// FixedSecrets are the fingerprints of the baseline's credentials
	// this image no longer has.
	FixedSecrets []string `json:"fixed_secrets,omitempty"`
}

// SecretsFacts are the credentials found in the image's layers. Each
// finding says where a credential is, never what it is.
type SecretsFacts struct {
	Scanned  bool                  `json:"scanned"`
	RuleSet  string                `json:"rule_set"`
	Findings []facts.SecretFinding `json:"findings"`
}

// Image describes the image being gated.
type Image struct {
	Reference string   `json:"reference"`
	Digest    string   `json:"digest"`
	Platforms []string `json:"platforms"`
	// Configs holds each platform image's configuration: the image rules
	// judge every one of them.
	Configs     []Config          `json:"configs"`
	Base        *Base             `json:"base,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Config is the configuration of one platform image, as the policies may
// judge it. Environment variables appear by name only: their values never
// reach a policy. Label values that are credentials are redacted before
// the policies (or any file) see them; SecretLabels names those labels.
type Config struct {
	Platform     string            `json:"platform"`
	User         string            `json:"user"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	WorkingDir   string            `json:"working_dir,omitempty"`
	EnvNames     []string          `json:"env_names"`
	ExposedPorts []string          `json:"exposed_ports,omitempty"`
	Labels       map[string]string `json:"labels"`
	SecretLabels []string          `json:"secret_labels"`
	Base         *Base             `json:"base,omitempty"`
}

// Base is the image's base, from its OCI base annotations.
type Base struct {
	Name   string `json:"name,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// SBOM summarises the inventory.
type SBOM struct {
	Present   bool                `json:"present"`
	Platforms []string            `json:"platforms"`
	Packages  []facts.SBOMPackage `json:"packages"`
}

// Provenance says where the image comes from.
type Provenance struct {
	SourceRepo string `json:"source_repo,omitempty"`
	Commit     string `json:"commit,omitempty"`
	Ref        string `json:"ref,omitempty"`
	Builder    string `json:"builder,omitempty"`
	CISystem   string `json:"ci_system,omitempty"`
	RunURL     string `json:"run_url,omitempty"`
}

// VEXFacts lists the VEX statements that removed findings.
type VEXFacts struct {
	Applied []VEXApplied `json:"applied"`
}

// ExceptionFacts lists the exceptions in force for this image, and the
// expired ones that would otherwise apply to it.
type ExceptionFacts struct {
	Applied []ExceptionFact `json:"applied"`
	Expired []ExceptionFact `json:"expired"`
}

// Digests identify the data a decision rests on.
type Digests struct {
	DB     string `json:"db"`
	Policy string `json:"policy"`
}

func refOf(f facts.Finding) FindingRef {
	return FindingRef{ID: f.ID, Package: f.Package.Name, Version: f.Package.Version, PURL: f.Package.PURL}
}

// The decision document and the parts of the input it shares are plain
// types of the facts package, so reports and attestations read them
// without linking the policy engine.
type (
	Decision         = facts.Decision
	DecisionImage    = facts.DecisionImage
	Violation        = facts.Violation
	PackageRef       = facts.PackageRef
	AppliedException = facts.AppliedException
	Counts           = facts.Counts
	DecisionDigests  = facts.DecisionDigests
	Mode             = facts.Mode
	VEXApplied       = facts.VEXApplied
	ExceptionFact    = facts.ExceptionFact
	FindingRef       = facts.FindingRef
)

// Gate modes and the decision schema.
const (
	Enforce        = facts.Enforce
	Audit          = facts.Audit
	DecisionSchema = facts.DecisionSchema
)

// normalize makes empty collections explicit and orders everything, so the
// same facts give the same document.
func (in *Input) normalize() {
	in.Version = InputVersion
	if in.Image.Platforms == nil {
		in.Image.Platforms = []string{}
	}
	if in.Image.Configs == nil {
		in.Image.Configs = []Config{}
	}
	for i := range in.Image.Configs {
		c := &in.Image.Configs[i]
		if c.EnvNames == nil {
			c.EnvNames = []string{}
		}
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		if c.SecretLabels == nil {
			c.SecretLabels = []string{}
		}
		sort.Strings(c.EnvNames)
		sort.Strings(c.SecretLabels)
	}
	sort.Slice(in.Image.Configs, func(i, j int) bool { return in.Image.Configs[i].Platform < in.Image.Configs[j].Platform })
	if in.SBOM.Platforms == nil {
		in.SBOM.Platforms = []string{}
	}
	if in.SBOM.Packages == nil {
		in.SBOM.Packages = []facts.SBOMPackage{}
	}
	for i := range in.SBOM.Packages {
		if in.SBOM.Packages[i].Licenses == nil {
			in.SBOM.Packages[i].Licenses = []string{}
		}
	}
	if in.Findings == nil {
		in.Findings = []facts.Finding{}
	}
	if in.VEX.Applied == nil {
		in.VEX.Applied = []VEXApplied{}
	}
	if in.Exceptions.Applied == nil {
		in.Exceptions.Applied = []ExceptionFact{}
	}
	if in.Exceptions.Expired == nil {
		in.Exceptions.Expired = []ExceptionFact{}
	}
	if in.Baseline != nil && in.Baseline.Fixed == nil {
		in.Baseline.Fixed = []FindingRef{}
	}
	if in.Secrets != nil && in.Secrets.Findings == nil {
		in.Secrets.Findings = []facts.SecretFinding{}
	}
	sort.Strings(in.Image.Platforms)
	sort.Strings(in.SBOM.Platforms)
}
