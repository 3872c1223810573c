package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// ErrBadBaseline is wrapped by errors about a baseline file.
var ErrBadBaseline = errors.New("bad baseline")

// Baseline is the set of findings already known from an earlier run.
type Baseline map[string]bool

func baselineKey(id, pkg string) string { return strings.ToUpper(id) + "|" + pkg }

// ParseBaseline reads a previous findings document (sealyard scan -o json)
// or decision document (sealyard gate -o json).
func ParseBaseline(data []byte, name string) (Baseline, error) {
	var head struct {
		SchemaVersion string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%w %s: not JSON: %w", ErrBadBaseline, name, err)
	}
	b := Baseline{}
	switch head.SchemaVersion {
	case facts.FindingsSchema:
		var r facts.Report
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrBadBaseline, name, err)
		}
		for _, f := range r.Findings {
			b[baselineKey(f.ID, f.Package.Name)] = true
		}
	case DecisionSchema:
		var d Decision
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrBadBaseline, name, err)
		}
		for _, set := range [][]Violation{d.Violations, d.Warnings} {
			for _, v := range set {
				for _, f := range v.Findings {
					b[baselineKey(f.ID, f.Package)] = true
				}
			}
		}
	default:
		return nil, fmt.Errorf("%w %s: schemaVersion %q is neither a findings (%s) nor a decision (%s) document", ErrBadBaseline, name, head.SchemaVersion, facts.FindingsSchema, DecisionSchema)
	}
	return b, nil
}

// mark sets each finding's status to new or known.
func (b Baseline) mark(fs []facts.Finding) {
	for i := range fs {
		if b[baselineKey(fs[i].ID, fs[i].Package.Name)] {
			fs[i].Status = "known"
		} else {
			fs[i].Status = "new"
		}
	}
}
