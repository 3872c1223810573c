package secrets

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/rs/zerolog"
	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// The report's types are plain types of the facts package, so the gate,
// reports and attestations read them without linking gitleaks.
type (
	Status  = facts.SecretStatus
	Layer   = facts.SecretLayer
	Finding = facts.SecretFinding
	Report  = facts.SecretsReport
	Counts  = facts.SecretCounts
)

// Finding statuses and the report's schema.
const (
	Present  = facts.SecretPresent
	Deleted  = facts.SecretDeleted
	Shadowed = facts.SecretShadowed
	Schema   = facts.SecretsSchema
)

// RuleSet names the rules findings come from.
const RuleSet = "gitleaks v8.30.1 default rules"

// DefaultMaxFileBytes is the largest file read: gitleaks' own chunking
// handles any size, but a file larger than this in a source tree or a
// layer is data, not configuration.
const DefaultMaxFileBytes = 10 << 20

// Options tune a scan.
type Options struct {
	// Allow accepts findings by path, rule or fingerprint.
	Allow AllowList
	// MaxFileBytes skips larger files (0: DefaultMaxFileBytes).
	MaxFileBytes int64
}

func (o Options) maxFile() int64 {
	if o.MaxFileBytes <= 0 {
		return DefaultMaxFileBytes
	}
	return o.MaxFileBytes
}

var rules struct {
	once sync.Once
	cfg  config.Config
	err  error
}

// ruleConfig is gitleaks' default configuration, parsed once per process
// with a viper of its own (gitleaks' helper uses the global one).
func ruleConfig() (config.Config, error) {
	rules.once.Do(func() {
		// gitleaks logs to stderr with the path of what it reads; sealyard
		// reports through its own findings only.
		logging.Logger = zerolog.Nop()
		v := viper.New()
		v.SetConfigType("toml")
		if err := v.ReadConfig(strings.NewReader(config.DefaultConfig)); err != nil {
			rules.err = fmt.Errorf("gitleaks rules: %w", err)
			return
		}
		var vc config.ViperConfig
		if err := v.Unmarshal(&vc); err != nil {
			rules.err = fmt.Errorf("gitleaks rules: %w", err)
			return
		}
		rules.cfg, rules.err = vc.Translate()
	})
	return rules.cfg, rules.err
}

// RuleCount is the number of rules in force.
func RuleCount() (int, error) {
	cfg, err := ruleConfig()
	return len(cfg.Rules), err
}

// scanner runs gitleaks over files, one detector per scan.
type scanner struct {
	det  *detect.Detector
	cfg  *config.Config
	opts Options
}

func newScanner(ctx context.Context, opts Options) (*scanner, error) {
	cfg, err := ruleConfig()
	if err != nil {
		return nil, err
	}
	det := detect.NewDetectorContext(ctx, cfg)
	// Findings go through sealyard's allow-list, so that an allowed one is
	// still reported (as allowed); gitleaks:allow comments keep working.
	return &scanner{det: det, cfg: &cfg, opts: opts}, nil
}

// file scans one file's contents, displayed as path, and returns its
// findings with every secret-bearing field dropped.
func (s *scanner) file(ctx context.Context, path string, r io.Reader) ([]Finding, error) {
	src := &sources.File{Content: r, Path: path, Config: s.cfg}
	var out []Finding
	err := src.Fragments(ctx, func(fr sources.Fragment, err error) error {
		if err != nil {
			return err
		}
		for _, g := range s.det.DetectContext(ctx, detect.Fragment(fr)) {
			out = append(out, Finding{
				Rule:        g.RuleID,
				Description: g.Description,
				File:        path,
				Line:        g.StartLine,
				Column:      g.StartColumn,
				Fingerprint: fmt.Sprintf("%s:%s:%d", path, g.RuleID, g.StartLine),
				Status:      Present,
			})
			// g (with Secret, Match, Line and the Fragment) goes out of
			// scope here.
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// finish applies the allow-list and orders the findings.
func finish(r *Report, allow AllowList) {
	for i := range r.Findings {
		r.Findings[i].Allowed = allow.Match(r.Findings[i])
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Platform != b.Platform {
			return a.Platform < b.Platform
		}
		ai, bi := -1, -1
		if a.Layer != nil {
			ai = a.Layer.Index
		}
		if b.Layer != nil {
			bi = b.Layer.Index
		}
		if ai != bi {
			return ai < bi
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Rule < b.Rule
	})
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
}
