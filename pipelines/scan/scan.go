package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/anchore/grype/grype"
	"github.com/anchore/grype/grype/distro"
	"github.com/anchore/grype/grype/match"
	"github.com/anchore/grype/grype/matcher"
	"github.com/anchore/grype/grype/matcher/golang"
	"github.com/anchore/grype/grype/pkg"
	"github.com/anchore/grype/grype/version"
	"github.com/anchore/grype/grype/vulnerability"
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"

	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// Input is what Scan matches: packages and the context (distro, source)
// grype needs.
type Input struct {
	packages []pkg.Package
	context  pkg.Context
	image    *facts.Image
}

// FromSBOM prepares an SBOM produced in this process (syft's model).
func FromSBOM(s *syftsbom.SBOM) Input {
	pkgs := pkg.FromPtrs(pkg.FromCollection(s.Artifacts.Packages, s.Relationships, pkg.SynthesisConfig{}))
	src := s.Source
	return Input{
		packages: pkgs,
		context:  pkg.Context{Source: &src, Distro: distro.FromRelease(s.Artifacts.LinuxDistribution, nil)},
		image:    imageOf(&src),
	}
}

// FromDocument prepares the SBOM of a platform image.
func FromDocument(d *sbom.Document) Input {
	in := FromSBOM(d.SBOM)
	in.image = &facts.Image{Name: d.Name, Digest: d.Digest.String(), Platform: d.Platform.String()}
	return in
}

// ErrBadSBOM is wrapped by FromReader errors about the document itself.
var ErrBadSBOM = errors.New("bad SBOM")

// FromReader reads an SBOM file in any format syft writes. A syft JSON
// document keeps Go symbols, so reachability is known; SPDX and CycloneDX
// documents carry no symbols, so their Go findings have reachable null.
func FromReader(r io.Reader) (Input, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Input{}, err
	}
	// Decode first for a clear error about the document.
	s, _, err := sbom.Decode(bytes.NewReader(data))
	if err != nil {
		return Input{}, fmt.Errorf("%w: %w", ErrBadSBOM, err)
	}
	pkgs, ctx, _, err := pkg.ProvideFromReader(bytes.NewReader(data), pkg.ProviderConfig{})
	if err != nil {
		return Input{}, fmt.Errorf("%w: %w", ErrBadSBOM, err)
	}
	return Input{packages: pkgs, context: ctx, image: imageOf(&s.Source)}, nil
}

func imageOf(d *source.Description) *facts.Image {
	if d == nil {
		return nil
	}
	img := &facts.Image{Name: d.Name}
	if m, ok := d.Metadata.(source.ImageMetadata); ok {
		img.Digest = m.ManifestDigest
		if m.OS != "" {
			img.Platform = m.OS + "/" + m.Architecture
			if m.Variant != "" {
				img.Platform += "/" + m.Variant
			}
		}
	}
	if img.Name == "" && img.Digest == "" {
		return nil
	}
	return img
}

// Option configures Scan.
type Option func(*options) error

// baseLayers are the diff IDs of the base image's layers, bottom first.
type baseLayers struct{ diffIDs []string }

// covers reports whether the layer at idx with diffID is a base layer:
// the image's layers start with the base's.
func (b *baseLayers) covers(idx int, diffID string) bool {
	return idx < len(b.diffIDs) && b.diffIDs[idx] == diffID
}

// WithBase names the base image by its layers' diff IDs (bottom first):
// findings in those layers are attributed to the base image.
func WithBase(diffIDs []string) Option {
	return func(o *options) error {
		o.base = &baseLayers{diffIDs: diffIDs}
		return nil
	}
}

type options struct {
	onlyFixed    bool
	ignoreStates map[string]bool
	rules        []match.IgnoreRule
	base         *baseLayers
}

// WithOnlyFixed reports only findings that have a fix (grype --only-fixed).
func WithOnlyFixed() Option {
	return func(o *options) error {
		o.onlyFixed = true
		return nil
	}
}

// WithIgnoreStates drops findings whose fix state is one of states
// (fixed, not-fixed, wont-fix, unknown), as grype --ignore-states does.
func WithIgnoreStates(states ...string) Option {
	return func(o *options) error {
		for _, s := range states {
			switch s {
			case "fixed", "not-fixed", "wont-fix", "unknown":
				o.ignoreStates[s] = true
			default:
				return fmt.Errorf("unknown fix state %q (want fixed, not-fixed, wont-fix or unknown)", s)
			}
		}
		return nil
	}
}

// IgnoreRule is grype's ignore rule (vulnerability, package, fix-state,
// namespace, ...), as in a .grype.yaml "ignore:" list.
type IgnoreRule = match.IgnoreRule

// WithIgnoreRules drops findings matching any rule.
func WithIgnoreRules(rules ...IgnoreRule) Option {
	return func(o *options) error {
		o.rules = append(o.rules, rules...)
		return nil
	}
}

// Scan matches in against db.
func Scan(ctx context.Context, in Input, db *vulndb.DB, opts ...Option) (*facts.Report, error) {
	o := &options{ignoreStates: map[string]bool{}}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if db == nil {
		return nil, errors.New("no vulnerability database")
	}
	// Match at module level: without symbol evidence grype keeps every Go
	// advisory whose version range covers the module. Reachability is
	// worked out afterwards from the symbols, which are kept aside.
	moduleLevel := make([]pkg.Package, len(in.packages))
	byID := make(map[pkg.ID]pkg.Package, len(in.packages))
	for i, p := range in.packages {
		byID[p.ID] = p
		if m, ok := p.Metadata.(pkg.GolangBinMetadata); ok {
			m.Symbols = nil
			p.Metadata = m
		}
		moduleLevel[i] = p
	}
	imageOS, imageArch := in.platform()
	bins := binaries(in.packages, imageOS, imageArch)

	vm := grype.VulnerabilityMatcher{
		VulnerabilityProvider: db.Provider(),
		Matchers: matcher.NewDefaultMatchers(matcher.Config{
			Golang: golang.MatcherConfig{AlwaysUseCPEForStdlib: true},
		}),
		IgnoreRules: o.rules,
	}
	remaining, ignoredMatches, err := vm.FindMatchesContext(ctx, moduleLevel, in.context)
	if err != nil {
		return nil, fmt.Errorf("matching: %w", err)
	}
	rep := &facts.Report{
		SchemaVersion: facts.FindingsSchema,
		Image:         in.image,
		DB:            dbInfo(db.Status()),
		Findings:      []facts.Finding{},
	}
	for _, m := range remaining.Sorted() {
		f, notHere, err := finding(m, byID[m.Package.ID], bins, db)
		if err != nil {
			return nil, err
		}
		var reasons []string
		if notHere != "" {
			reasons = append(reasons, notHere)
		}
		if o.onlyFixed && f.Fix.State != "fixed" {
			reasons = append(reasons, "only fixed findings were asked for (--only-fixed)")
		}
		if o.ignoreStates[f.Fix.State] {
			reasons = append(reasons, "fix state "+f.Fix.State+" is ignored (--ignore-states)")
		}
		if len(reasons) > 0 {
			rep.Ignored = append(rep.Ignored, facts.Ignored{Finding: f, Reasons: reasons})
			continue
		}
		rep.Findings = append(rep.Findings, f)
	}
	for _, im := range ignoredMatches {
		f, _, err := finding(im.Match, byID[im.Package.ID], bins, db)
		if err != nil {
			return nil, err
		}
		var reasons []string
		for _, r := range im.AppliedIgnoreRules {
			reason := "ignore rule"
			if r.Vulnerability != "" {
				reason += " for " + r.Vulnerability
			}
			if r.Reason != "" {
				reason += ": " + r.Reason
			}
			reasons = append(reasons, reason)
		}
		rep.Ignored = append(rep.Ignored, facts.Ignored{Finding: f, Reasons: reasons})
	}
	layers := layerIndexes(in.context.Source)
	for i := range rep.Findings {
		attribute(rep.Findings[i].Locations, layers, o.base)
	}
	for i := range rep.Ignored {
		attribute(rep.Ignored[i].Locations, layers, o.base)
	}
	sortFindings(rep.Findings)
	sort.SliceStable(rep.Ignored, func(i, j int) bool { return less(rep.Ignored[i].Finding, rep.Ignored[j].Finding) })
	rep.Summary = facts.Summarize(rep.Findings, len(rep.Ignored))
	return rep, nil
}

// layerIndexes maps each layer's diff ID to its place in the image.
func layerIndexes(src *source.Description) map[string]int {
	if src == nil {
		return nil
	}
	m, ok := src.Metadata.(source.ImageMetadata)
	if !ok {
		return nil
	}
	out := make(map[string]int, len(m.Layers))
	for i, l := range m.Layers {
		out[l.Digest] = i
	}
	return out
}

// attribute names the layer index of each location, and whether it is one
// of the base image's layers (the first base of them).
func attribute(ls []facts.Location, layers map[string]int, base *baseLayers) {
	for i := range ls {
		idx, ok := layers[ls[i].LayerID]
		if !ok {
			continue
		}
		ls[i].LayerIndex = &idx
		if base != nil {
			b := base.covers(idx, ls[i].LayerID)
			ls[i].Base = &b
		}
	}
}

func dbInfo(st vulndb.Status) facts.DB {
	d := facts.DB{SchemaVersion: st.SchemaVersion, Built: st.Built.Format(time.RFC3339), Digest: st.Digest, Providers: []string{}, Artifact: st.Artifact}
	for _, p := range st.Providers {
		d.Providers = append(d.Providers, p.Name)
	}
	return d
}

// finding turns a grype match into a Finding. notHere is non-empty when the
// advisory is limited to platforms the binary is not built for.
func finding(m match.Match, full pkg.Package, bins map[string]binary, db *vulndb.DB) (f facts.Finding, notHere string, err error) {
	v := m.Vulnerability
	meta, err := db.Provider().VulnerabilityMetadata(v.Reference)
	if err != nil {
		return facts.Finding{}, "", fmt.Errorf("reading metadata of %s: %w", v.ID, err)
	}
	if meta == nil {
		meta = &vulnerability.Metadata{ID: v.ID, Severity: "Unknown"}
	}
	f = facts.Finding{
		ID:          v.ID,
		Aliases:     aliases(v),
		Namespace:   v.Namespace,
		DataSource:  meta.DataSource,
		Description: meta.Description,
		URLs:        meta.URLs,
		Severity:    normalSeverity(meta.Severity),
		Fix:         facts.Fix{State: fixState(v.Fix.State), Versions: nonNil(v.Fix.Versions), Suggested: suggest(m.Package.Version, v.Fix.Versions, v.Constraint)},
		Package: facts.Package{
			Name:     m.Package.Name,
			Version:  m.Package.Version,
			Type:     string(m.Package.Type),
			PURL:     m.Package.PURL,
			Language: string(m.Package.Language),
		},
		Locations: []facts.Location{},
		MatchType: matchType(m),
	}
	for _, c := range meta.Cvss {
		f.CVSS = append(f.CVSS, facts.CVSS{Source: c.Source, Version: c.Version, Vector: c.Vector, BaseScore: c.Metrics.BaseScore})
	}
	for _, k := range meta.KnownExploited {
		f.KEV = append(f.KEV, facts.KEV{CVE: k.CVE, DateAdded: day(k.DateAdded), DueDate: day(k.DueDate), KnownRansomwareCampaignUse: k.KnownRansomwareCampaignUse})
	}
	for _, e := range meta.EPSS {
		d := e.Date
		f.EPSS = append(f.EPSS, facts.EPSS{CVE: e.CVE, Score: e.EPSS, Percentile: e.Percentile, Date: day(&d)})
	}
	for _, l := range m.Package.Locations.ToSlice() {
		f.Locations = append(f.Locations, facts.Location{Path: l.RealPath, LayerID: l.FileSystemID})
	}
	if bin, ok := full.Metadata.(pkg.GolangBinMetadata); ok {
		imports, err := db.GoImports(v.ID, m.Package.Name)
		if err != nil {
			return facts.Finding{}, "", err
		}
		b := bins[binaryOf(full)]
		goos, goarch := b.goos, b.goarch
		var applicable []vulndb.GoImport
		for _, imp := range imports {
			f.GoImports = append(f.GoImports, facts.GoImport{Path: imp.Path, Symbols: imp.Symbols, GOOS: imp.GOOS, GOARCH: imp.GOARCH})
			if imp.Applies(goos, goarch) {
				applicable = append(applicable, imp)
			}
		}
		if len(imports) > 0 && len(applicable) == 0 {
			notHere = "the advisory affects other platforms only, not " + goos + "/" + goarch
		}
		f.Reachable, f.Symbols = reachability(bin, applicable, b.symbols)
	}
	return f, notHere, nil
}

// suggest picks the lowest fixed version above the installed one (the
// stdlib lists one fix per release line: 1.26.9 and 1.27.2 for go1.26.8).
func suggest(installed string, fixes []string, c version.Constraint) string {
	if len(fixes) == 0 {
		return ""
	}
	format := version.UnknownFormat
	if c != nil {
		format = c.Format()
	}
	have := version.New(strings.TrimPrefix(installed, "go"), format)
	best := ""
	var bestV *version.Version
	for _, f := range fixes {
		v := version.New(f, format)
		if cmp, err := v.Compare(have); err != nil || cmp <= 0 {
			continue
		}
		if bestV == nil {
			best, bestV = f, v
			continue
		}
		if cmp, err := v.Compare(bestV); err == nil && cmp < 0 {
			best, bestV = f, v
		}
	}
	if best == "" {
		return fixes[0]
	}
	return best
}

func buildSetting(m pkg.GolangBinMetadata, key string) string {
	for _, kv := range m.BuildSettings {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// reachability decides whether the binary links a vulnerable symbol. It
// mirrors govulncheck's binary mode: a vulnerable import path present in the
// binary with no symbols listed, or one of its listed symbols present.
func reachability(bin pkg.GolangBinMetadata, imports []vulndb.GoImport, captured bool) (*bool, []string) {
	if !captured {
		return nil, nil
	}
	var found []string
	if len(imports) == 0 {
		// The advisory names no packages: the whole module is vulnerable,
		// and reachable when any of its code is linked.
		r := len(bin.Symbols) > 0
		return &r, nil
	}
	for _, imp := range imports {
		locals, ok := bin.Symbols[imp.Path]
		if !ok {
			continue
		}
		if len(imp.Symbols) == 0 {
			found = append(found, imp.Path)
			continue
		}
		have := make(map[string]bool, len(locals))
		for _, l := range locals {
			have[l] = true
		}
		for _, s := range imp.Symbols {
			if have[s] {
				found = append(found, imp.Path+"."+s)
			}
		}
	}
	sort.Strings(found)
	r := len(found) > 0
	return &r, found
}

// binary is what is known of one Go binary in the image.
type binary struct {
	// symbols is true when syft captured symbols from the binary: then a
	// module without symbols is one whose code is not linked.
	symbols      bool
	goos, goarch string
}

// platform is the OS and architecture of the scanned image, where known:
// from the SBOM's image metadata, or, for SBOM formats that drop it, linux
// when the SBOM found a Linux distribution.
func (in Input) platform() (os, arch string) {
	if in.image != nil && in.image.Platform != "" {
		os, rest, _ := strings.Cut(in.image.Platform, "/")
		arch, _, _ := strings.Cut(rest, "/")
		return os, arch
	}
	if in.context.Distro != nil {
		return "linux", ""
	}
	return "", ""
}

// binaries gathers, per binary, symbol evidence and the platform it is
// built for: the main module's build settings, else the image's platform.
func binaries(pkgs []pkg.Package, imageOS, imageArch string) map[string]binary {
	out := map[string]binary{}
	for _, p := range pkgs {
		m, ok := p.Metadata.(pkg.GolangBinMetadata)
		if !ok {
			continue
		}
		key := binaryOf(p)
		b := out[key]
		if len(m.Symbols) > 0 {
			b.symbols = true
		}
		if v := buildSetting(m, "GOOS"); v != "" {
			b.goos = v
		}
		if v := buildSetting(m, "GOARCH"); v != "" {
			b.goarch = v
		} else if b.goarch == "" {
			b.goarch = m.Architecture
		}
		out[key] = b
	}
	for key, b := range out {
		if b.goos == "" {
			b.goos = imageOS
		}
		if b.goarch == "" {
			b.goarch = imageArch
		}
		out[key] = b
	}
	return out
}

func binaryOf(p pkg.Package) string {
	for _, l := range p.Locations.ToSlice() {
		return l.FileSystemID + ":" + l.RealPath
	}
	return ""
}

func aliases(v vulnerability.Vulnerability) []string {
	out := []string{}
	seen := map[string]bool{v.ID: true}
	for _, r := range v.RelatedVulnerabilities {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r.ID)
		}
	}
	sort.Strings(out)
	return out
}

func normalSeverity(s string) string {
	if sev, err := facts.ParseSeverity(s); err == nil {
		return sev
	}
	return "Unknown"
}

func fixState(s vulnerability.FixState) string {
	switch s {
	case vulnerability.FixStateFixed:
		return "fixed"
	case vulnerability.FixStateNotFixed:
		return "not-fixed"
	case vulnerability.FixStateWontFix:
		return "wont-fix"
	default:
		return "unknown"
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func day(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

func matchType(m match.Match) string {
	var types []string
	for _, t := range m.Details.Types() {
		types = append(types, string(t))
	}
	sort.Strings(types)
	return strings.Join(types, ",")
}

func sortFindings(fs []facts.Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return less(fs[i], fs[j]) })
}

// less orders findings by severity (highest first), then id, package and
// location, so documents are stable.
func less(a, b facts.Finding) bool {
	if ra, rb := facts.SeverityRank(a.Severity), facts.SeverityRank(b.Severity); ra != rb {
		return ra > rb
	}
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	if a.Package.Name != b.Package.Name {
		return a.Package.Name < b.Package.Name
	}
	if a.Package.Version != b.Package.Version {
		return a.Package.Version < b.Package.Version
	}
	return firstPath(a) < firstPath(b)
}

func firstPath(f facts.Finding) string {
	if len(f.Locations) == 0 {
		return ""
	}
	return f.Locations[0].Path
}
