package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// ErrBadBaseline is wrapped by errors about a baseline file.
var ErrBadBaseline = errors.New("bad baseline")

// Baseline is the set of findings already known from an earlier run (a
// file, or the signed vulnerability attestation of the previous image),
// by advisory and package, and where it came from.
type Baseline struct {
	Source   string
	findings map[string]FindingRef
	// full are the findings themselves, when the baseline has them (a
	// findings document or attestation; a decision lists only refs): the
	// risk score's change is measured against them.
	full []facts.Finding
	// secrets are the fingerprints of the baseline's credentials, when it
	// has a secrets report.
	secrets map[string]bool
}

// NewBaseline is an empty baseline from source.
func NewBaseline(source string) *Baseline {
	return &Baseline{Source: source, findings: map[string]FindingRef{}}
}

// Len is the number of findings in the baseline.
func (b *Baseline) Len() int { return len(b.findings) }

func baselineKey(id, pkg string) string { return strings.ToUpper(id) + "|" + pkg }

// ParseBaseline reads a previous findings document (sealyard scan -o json)
// or decision document (sealyard gate -o json).
func ParseBaseline(data []byte, name string) (*Baseline, error) {
	var head struct {
		SchemaVersion string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w %s: not JSON: %w", ErrBadBaseline, name, err)
	}
	b := NewBaseline(name)
	switch head.SchemaVersion {
	case facts.FindingsSchema:
		var r facts.Report
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrBadBaseline, name, err)
		}
		b.AddFindings(r.Findings)
	case DecisionSchema:
		var d Decision
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrBadBaseline, name, err)
		}
		for _, set := range [][]Violation{d.Violations, d.Warnings} {
			for _, v := range set {
				for _, f := range v.Findings {
					b.findings[baselineKey(f.ID, f.Package)] = f
				}
			}
		}
	default:
		return nil, fmt.Errorf("%w %s: schemaVersion %q is neither a findings (%s) nor a decision (%s) document", ErrBadBaseline, name, head.SchemaVersion, facts.FindingsSchema, DecisionSchema)
	}
	return b, nil
}

// AddFindings adds findings to the baseline.
func (b *Baseline) AddFindings(fs []facts.Finding) {
	b.full = append(b.full, fs...)
	for _, f := range fs {
		b.findings[baselineKey(f.ID, f.Package.Name)] = refOf(f)
	}
}

// AddSecrets adds a secrets report's fingerprints to the baseline.
func (b *Baseline) AddSecrets(r *facts.SecretsReport) {
	if b.secrets == nil {
		b.secrets = map[string]bool{}
	}
	for _, f := range r.Findings {
		b.secrets[f.Fingerprint] = true
	}
}

// markSecrets sets each credential's baseline status and returns the
// baseline's fingerprints that are gone; nothing without a baseline
// secrets report.
func (b *Baseline) markSecrets(fs []facts.SecretFinding) (fixed []string) {
	if b.secrets == nil {
		return nil
	}
	now := map[string]bool{}
	for i := range fs {
		now[fs[i].Fingerprint] = true
		fs[i].Baseline = "new"
		if b.secrets[fs[i].Fingerprint] {
			fs[i].Baseline = "known"
		}
	}
	for fp := range b.secrets {
		if !now[fp] {
			fixed = append(fixed, fp)
		}
	}
	sort.Strings(fixed)
	return fixed
}

// Has reports whether the baseline holds advisory id in package pkg.
func (b *Baseline) Has(id, pkg string) bool {
	_, ok := b.findings[baselineKey(id, pkg)]
	return ok
}

// mark sets each finding's status to new or known, and returns the
// baseline's findings that are gone: what this image fixed.
func (b *Baseline) mark(fs []facts.Finding) []FindingRef {
	now := map[string]bool{}
	for i := range fs {
		k := baselineKey(fs[i].ID, fs[i].Package.Name)
		now[k] = true
		if _, ok := b.findings[k]; ok {
			fs[i].Status = "known"
		} else {
			fs[i].Status = "new"
		}
	}
	fixed := []FindingRef{}
	for k, ref := range b.findings {
		if !now[k] {
			fixed = append(fixed, ref)
		}
	}
	sort.Slice(fixed, func(i, j int) bool {
		if fixed[i].ID != fixed[j].ID {
			return fixed[i].ID < fixed[j].ID
		}
		return fixed[i].Package < fixed[j].Package
	})
	return fixed
}
