package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// GateOption configures Gate.
type GateOption func(*gateOptions)

type gateOptions struct {
	exceptions []Exception
	vex        []*VEXDocument
	baseline   *Baseline
	now        time.Time
	mode       Mode
}

// WithExceptions applies exceptions (see ParseExceptions).
func WithExceptions(es ...Exception) GateOption {
	return func(o *gateOptions) { o.exceptions = append(o.exceptions, es...) }
}

// WithVEX applies VEX documents (see ParseVEX).
func WithVEX(docs ...*VEXDocument) GateOption {
	return func(o *gateOptions) { o.vex = append(o.vex, docs...) }
}

// WithBaseline marks findings new or known (see ParseBaseline).
func WithBaseline(b *Baseline) GateOption {
	return func(o *gateOptions) { o.baseline = b }
}

// WithNow sets the time exceptions expire against (default: now).
func WithNow(t time.Time) GateOption {
	return func(o *gateOptions) { o.now = t }
}

// WithMode sets enforce (default) or audit.
func WithMode(m Mode) GateOption {
	return func(o *gateOptions) { o.mode = m }
}

// Gate prepares in (redaction, baseline, VEX, exceptions), checks it
// against the input schema, evaluates the policies and returns the
// decision together with the input the policies saw. The decision's input
// digest is of that input as facts.Encode writes it (policy-input.json).
func (e *Engine) Gate(ctx context.Context, in Input, opts ...GateOption) (*Decision, *Input, error) {
	o := &gateOptions{now: time.Now(), mode: Enforce}
	for _, opt := range opts {
		opt(o)
	}
	if o.mode != Enforce && o.mode != Audit {
		return nil, nil, fmt.Errorf("unknown gate mode %q (want enforce or audit)", o.mode)
	}
	in.Digests.Policy = e.digest
	in.Image.Configs = append([]Config(nil), in.Image.Configs...)
	e.redact(&in)
	in.normalize()
	if o.baseline != nil {
		in.Baseline = &BaselineFacts{Source: o.baseline.Source, Fixed: o.baseline.mark(in.Findings)}
		if in.Secrets != nil {
			sec := *in.Secrets
			sec.Findings = append(make([]facts.SecretFinding, 0, len(sec.Findings)), sec.Findings...)
			in.Secrets = &sec
			in.Baseline.FixedSecrets = o.baseline.markSecrets(sec.Findings)
		}
	}
	applyVEX(&in, o.vex)
	in.Risk = riskOf(&in, o.baseline)
	var active []Exception
	for _, ex := range o.exceptions {
		switch {
		case ex.Expired(o.now):
			if ex.appliesToAny(&in) {
				in.Exceptions.Expired = append(in.Exceptions.Expired, ex.fact())
			}
		case ex.matchesImage(in.Image):
			active = append(active, ex)
			in.Exceptions.Applied = append(in.Exceptions.Applied, ex.fact())
		}
	}
	raw, err := facts.Encode(in)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the policy input: %w", err)
	}
	d, err := e.decide(ctx, &in, raw, o.mode, active)
	if err != nil {
		return nil, nil, err
	}
	return d, &in, nil
}

// Replay evaluates a policy input exactly as it was written
// (policy-input.json, or its attestation) in the given mode, and returns
// the decision the gate makes on it. The exceptions in force are the ones
// the input lists as applied. Given the same policy bundle, it is the
// decision the gate made then, byte for byte; the input must name this
// bundle's digest.
func (e *Engine) Replay(ctx context.Context, raw []byte, mode Mode) (*Decision, error) {
	if mode != Enforce && mode != Audit {
		return nil, fmt.Errorf("unknown gate mode %q (want enforce or audit)", mode)
	}
	if err := ValidateInput(raw); err != nil {
		return nil, err
	}
	var in Input
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("reading the policy input: %w", err)
	}
	if in.Digests.Policy != e.digest {
		return nil, fmt.Errorf("%w: the input was judged by policy bundle %s; these policies are %s (give the same --policy and --policy-data)", ErrPolicyMismatch, in.Digests.Policy, e.digest)
	}
	var active []Exception
	for _, f := range in.Exceptions.Applied {
		active = append(active, exceptionOf(f))
	}
	return e.decide(ctx, &in, raw, mode, active)
}

// ErrPolicyMismatch is wrapped by Replay when the input was judged by
// another policy bundle.
var ErrPolicyMismatch = errors.New("policy bundle mismatch")

// decide evaluates the prepared input (raw is its encoding) and builds
// the decision.
func (e *Engine) decide(ctx context.Context, in *Input, raw []byte, mode Mode, active []Exception) (*Decision, error) {
	if err := ValidateInput(raw); err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	deny, warn, err := e.evaluate(ctx, doc)
	if err != nil {
		return nil, err
	}
	d := &Decision{
		SchemaVersion: DecisionSchema,
		Mode:          mode,
		Image:         DecisionImage{Reference: in.Image.Reference, Digest: in.Image.Digest, Platforms: in.Image.Platforms},
		VEX:           in.VEX.Applied,
		Digests:       DecisionDigests{Image: in.Image.Digest, DB: in.Digests.DB, Policy: e.digest, Input: facts.Digest(raw)},
	}
	d.Violations, d.Exceptions = suppress(dedupe(deny), active, in.Findings)
	warnings, warnExceptions := suppress(dedupe(warn), active, in.Findings)
	// One violation per fix: after the exceptions, which waive advisories
	// one by one, the upgrades of one package become one action.
	d.Violations = groupUpgrades(d.Violations, in.Findings)
	d.Warnings = groupUpgrades(warnings, in.Findings)
	d.Exceptions = mergeApplied(d.Exceptions, warnExceptions)
	for _, v := range d.VEX {
		d.Counts.SuppressedByVEX += len(v.Findings)
	}
	for _, a := range d.Exceptions {
		d.Counts.SuppressedByException += len(a.Suppressed)
	}
	// Findings counts what the scan found, before VEX removed any.
	d.Counts.Findings = len(in.Findings) + d.Counts.SuppressedByVEX
	d.Counts.Violations, d.Counts.Warnings = len(d.Violations), len(d.Warnings)
	for _, f := range in.Findings {
		switch f.Status {
		case "new":
			d.Counts.NewFindings++
			if !hasRef(d.New, f) {
				d.New = append(d.New, refOf(f))
			}
		case "known":
			d.Counts.KnownFindings++
		}
	}
	if in.Risk != nil {
		r := *in.Risk
		d.Risk = &r
	}
	if in.Secrets != nil {
		for _, f := range in.Secrets.Findings {
			if f.Baseline == "new" {
				d.NewSecrets = append(d.NewSecrets, f.Fingerprint)
			}
		}
	}
	if in.Baseline != nil {
		d.FixedSecrets = in.Baseline.FixedSecrets
		d.Fixed = in.Baseline.Fixed
		d.Counts.FixedFindings = len(in.Baseline.Fixed)
	}
	d.Verdict = "pass"
	d.Decision = "allow"
	if len(d.Violations) > 0 {
		d.Verdict = "fail"
		if mode == Enforce {
			d.Decision = "deny"
		}
	}
	return d, nil
}

// rootUsers are the USER values that run as root (as policies/image.rego
// has them).
var rootUsers = map[string]bool{"": true, "0": true, "root": true, "0:0": true, "root:root": true, "0:root": true, "root:0": true}

// riskOf scores the input's findings (after VEX), credentials and
// exposure, and the change against a baseline that carries findings.
func riskOf(in *Input, b *Baseline) *facts.Risk {
	var x facts.ExposureFacts
	for _, c := range in.Image.Configs {
		x.Root = x.Root || rootUsers[c.User]
		x.ExposedPorts = x.ExposedPorts || len(c.ExposedPorts) > 0
	}
	var secrets []facts.SecretFinding
	if in.Secrets != nil {
		secrets = in.Secrets.Findings
	}
	r := facts.RiskOf(in.Findings, secrets, x)
	if b != nil && len(b.full) > 0 {
		r = r.WithBaseline(b.full)
	}
	return &r
}

func hasRef(refs []FindingRef, f facts.Finding) bool {
	for _, r := range refs {
		if r.ID == f.ID && r.Package == f.Package.Name {
			return true
		}
	}
	return false
}

// upgradeRules are the rules whose violations are each one package
// upgrade, grouped by groupUpgrades.
var upgradeRules = map[string]bool{"SY-VULN-001": true, "SY-VULN-002": true}

// groupUpgrades turns the violations of an upgrade rule that name the same
// package and version into one: the upgrade to the smallest version that
// fixes them all, listing the advisories it clears. A package with one
// such violation keeps it as it is.
func groupUpgrades(vs []Violation, findings []facts.Finding) []Violation {
	type key struct{ rule, pkg, version string }
	groups := map[key][]int{}
	for i, v := range vs {
		if upgradeRules[v.Rule] && len(v.Findings) > 0 {
			k := key{v.Rule, v.Findings[0].Package, v.Findings[0].Version}
			groups[k] = append(groups[k], i)
		}
	}
	fixOf := map[[3]string]string{}
	paths := map[[3]string][]string{}
	for _, f := range findings {
		k := [3]string{f.ID, f.Package.Name, f.Package.Version}
		v := f.Fix.Suggested
		if v == "" && len(f.Fix.Versions) > 0 {
			v = f.Fix.Versions[0]
		}
		fixOf[k] = v
		for _, l := range f.Locations {
			paths[k] = append(paths[k], l.Path)
		}
	}
	plain := func(v string) string { return strings.TrimPrefix(strings.TrimPrefix(v, "go"), "v") }
	var out []Violation
	done := map[int]bool{}
	for i, v := range vs {
		if done[i] {
			continue
		}
		if !upgradeRules[v.Rule] || len(v.Findings) == 0 {
			out = append(out, v)
			continue
		}
		k := key{v.Rule, v.Findings[0].Package, v.Findings[0].Version}
		members := groups[k]
		if len(members) < 2 {
			out = append(out, v)
			continue
		}
		g := Violation{Rule: v.Rule, Title: v.Title}
		target := ""
		where := map[string]bool{}
		var ids []string
		for _, m := range members {
			done[m] = true
			for _, ref := range vs[m].Findings {
				g.Findings = appendRefs(g.Findings, []FindingRef{ref})
				fk := [3]string{ref.ID, ref.Package, ref.Version}
				if t := fixOf[fk]; t != "" && (target == "" || facts.VersionLess(target, t)) {
					target = t
				}
				for _, p := range paths[fk] {
					where[p] = true
				}
			}
		}
		for _, ref := range g.Findings {
			ids = append(ids, ref.ID)
		}
		sort.Strings(ids)
		ids = slices.Compact(ids)
		name := k.pkg
		if name == "stdlib" {
			name = "Go (stdlib)"
		}
		locs := make([]string, 0, len(where))
		for p := range where {
			locs = append(locs, p)
		}
		sort.Strings(locs)
		g.Message = fmt.Sprintf("upgrade %s from %s to %s: one upgrade clears %d advisories (%s)", name, plain(k.version), plain(target), len(ids), strings.Join(ids, ", "))
		if v.Rule == "SY-VULN-002" {
			g.Message += ", none of them reachable"
		}
		if len(locs) > 0 {
			g.Message += " in " + strings.Join(locs, ", ")
		}
		out = append(out, g)
	}
	return out
}

// dedupe merges results that say the same thing (the same finding in two
// platforms of an index) and orders them.
func dedupe(vs []Violation) []Violation {
	byKey := map[string]*Violation{}
	var keys []string
	for _, v := range vs {
		k := v.Rule + "\x00" + v.Message
		if x, ok := byKey[k]; ok {
			x.Findings = appendRefs(x.Findings, v.Findings)
			continue
		}
		c := v
		byKey[k] = &c
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Violation, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out
}

func appendRefs(a, b []FindingRef) []FindingRef {
	seen := map[FindingRef]bool{}
	for _, r := range a {
		seen[r] = true
	}
	for _, r := range b {
		if !seen[r] {
			a = append(a, r)
			seen[r] = true
		}
	}
	return a
}

// suppress drops the violations an active exception covers and reports
// which exception covered what.
func suppress(vs []Violation, active []Exception, findings []facts.Finding) ([]Violation, []AppliedException) {
	aliases := map[string][]string{}
	for _, f := range findings {
		aliases[f.ID] = f.Aliases
	}
	kept := []Violation{}
	applied := map[int]*AppliedException{}
	for _, v := range vs {
		if v.Rule == RuleExpiredException {
			// An expired exception is never waived, least of all by
			// another exception.
			kept = append(kept, v)
			continue
		}
		covered := -1
		for i, ex := range active {
			if covers(ex, v, aliases) {
				covered = i
				break
			}
		}
		if covered < 0 {
			kept = append(kept, v)
			continue
		}
		a := applied[covered]
		if a == nil {
			a = &AppliedException{ExceptionFact: active[covered].fact()}
			applied[covered] = a
		}
		a.Suppressed = append(a.Suppressed, v)
	}
	var out []AppliedException
	for i := range active {
		if a, ok := applied[i]; ok {
			out = append(out, *a)
		}
	}
	return kept, out
}

func covers(ex Exception, v Violation, aliases map[string][]string) bool {
	if ex.Rule != "" && ex.Rule != v.Rule {
		return false
	}
	if ex.Vulnerability == "" && ex.Package == "" {
		return true
	}
	for _, f := range v.Findings {
		if ex.matchesFinding(f, aliases[f.ID]) {
			return true
		}
	}
	if ex.Vulnerability == "" {
		for _, p := range v.Packages {
			if packageMatches(ex.Package, p.Name, p.Version, p.PURL) {
				return true
			}
		}
	}
	return false
}

func mergeApplied(a, b []AppliedException) []AppliedException {
	out := append([]AppliedException{}, a...)
	for _, x := range b {
		merged := false
		for i := range out {
			if out[i].ExceptionFact == x.ExceptionFact {
				out[i].Suppressed = append(out[i].Suppressed, x.Suppressed...)
				merged = true
			}
		}
		if !merged {
			out = append(out, x)
		}
	}
	if out == nil {
		out = []AppliedException{}
	}
	return out
}
