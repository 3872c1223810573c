package facts

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// Remediation is one action that clears findings: upgrading one package
// to one version. Findings of a package with fixes are grouped into one
// remediation whose target is the smallest version that fixes all of them.
type Remediation struct {
	Package Package `json:"package"`
	// Target is the version to upgrade to.
	Target string `json:"target"`
	// Action is what to do, as a command where there is one.
	Action string `json:"action"`
	// Kind is go-module, go-toolchain or os-package (fixed by updating
	// the base image, or the package in it).
	Kind string `json:"kind"`
	// Advisories are the findings it clears, reachable first.
	Advisories []string `json:"advisories"`
	// Reachable counts the advisories whose vulnerable code is linked.
	Reachable int `json:"reachable"`
	// Severity is the highest severity among them.
	Severity string `json:"severity"`
	// Paths are where the package was found.
	Paths []string `json:"paths,omitempty"`
	// Layers are the indexes of the image layers that brought it.
	Layers []int `json:"layers,omitempty"`
	// Base is "base" when every finding it clears is in the base image's
	// layers (update the base image), "app" when none is (fix in your
	// code), "both", or "" when the base is not known.
	Base string `json:"base,omitempty"`
}

// The kinds of remediation.
const (
	FixGoModule    = "go-module"
	FixGoToolchain = "go-toolchain"
	FixOSPackage   = "os-package"
	FixPackage     = "package"
)

// Remediations groups the findings that have a fix into one action per
// (package, installed version): the smallest version that fixes every one
// of them. They come ordered by how much risk they remove: reachable
// advisories first, then the highest severity, then how many advisories.
// Findings without a fix are left out (they need an exception or VEX).
func Remediations(fs []Finding) []Remediation {
	type key struct{ name, version, typ string }
	by := map[key]*Remediation{}
	seen := map[key]map[string]bool{}
	reach := map[key]map[string]bool{}
	paths := map[key]map[string]bool{}
	layers := map[key]map[int]bool{}
	inBase := map[key]map[bool]bool{}
	for _, f := range fs {
		if f.Fix.State != "fixed" || f.Fix.Suggested == "" {
			continue
		}
		k := key{f.Package.Name, f.Package.Version, f.Package.Type}
		r := by[k]
		if r == nil {
			r = &Remediation{Package: f.Package, Target: f.Fix.Suggested, Severity: f.Severity}
			by[k], seen[k], reach[k], paths[k] = r, map[string]bool{}, map[string]bool{}, map[string]bool{}
			layers[k], inBase[k] = map[int]bool{}, map[bool]bool{}
		}
		if VersionLess(r.Target, f.Fix.Suggested) {
			r.Target = f.Fix.Suggested
		}
		if SeverityRank(f.Severity) > SeverityRank(r.Severity) {
			r.Severity = f.Severity
		}
		seen[k][f.ID] = true
		if f.Reachable != nil && *f.Reachable {
			reach[k][f.ID] = true
		}
		for _, l := range f.Locations {
			paths[k][l.Path] = true
			if l.LayerIndex != nil {
				layers[k][*l.LayerIndex] = true
			}
			if l.Base != nil {
				inBase[k][*l.Base] = true
			}
		}
	}
	out := make([]Remediation, 0, len(by))
	for k, r := range by {
		for id := range seen[k] {
			r.Advisories = append(r.Advisories, id)
		}
		sort.Slice(r.Advisories, func(i, j int) bool {
			a, b := r.Advisories[i], r.Advisories[j]
			if reach[k][a] != reach[k][b] {
				return reach[k][a]
			}
			return a < b
		})
		r.Reachable = len(reach[k])
		for p := range paths[k] {
			r.Paths = append(r.Paths, p)
		}
		sort.Strings(r.Paths)
		for l := range layers[k] {
			r.Layers = append(r.Layers, l)
		}
		sort.Ints(r.Layers)
		switch b := inBase[k]; {
		case b[true] && b[false]:
			r.Base = "both"
		case b[true]:
			r.Base = "base"
		case b[false]:
			r.Base = "app"
		}
		r.Kind, r.Action = action(r.Package, r.Target)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.Reachable != b.Reachable:
			return a.Reachable > b.Reachable
		case SeverityRank(a.Severity) != SeverityRank(b.Severity):
			return SeverityRank(a.Severity) > SeverityRank(b.Severity)
		case len(a.Advisories) != len(b.Advisories):
			return len(a.Advisories) > len(b.Advisories)
		}
		return a.Package.Name+a.Package.Version < b.Package.Name+b.Package.Version
	})
	return out
}

// action says how to apply an upgrade.
func action(p Package, target string) (kind, what string) {
	switch {
	case p.Type == "go-module" && p.Name == "stdlib":
		v := "go" + strings.TrimPrefix(strings.TrimPrefix(target, "go"), "v")
		return FixGoToolchain, fmt.Sprintf("build with Go %s: `toolchain %s` in go.mod (or GOTOOLCHAIN=%s)", strings.TrimPrefix(v, "go"), v, v)
	case p.Type == "go-module":
		v := target
		if !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		return FixGoModule, fmt.Sprintf("go get %s@%s", p.Name, v)
	case p.Type == "deb" || p.Type == "apk" || p.Type == "rpm":
		return FixOSPackage, fmt.Sprintf("update the base image to one with %s %s or later (%s package)", p.Name, target, p.Type)
	default:
		return FixPackage, fmt.Sprintf("upgrade %s to %s", p.Name, target)
	}
}

// VersionLess compares two versions piece by piece: runs of digits as
// numbers, other runs as text, a leading "v" or "go" ignored. It orders
// semantic versions, Go releases and most distribution versions; it is a
// heuristic for choosing among fix versions, not a full Debian or RPM
// comparison (epochs and "~" are compared as text).
func VersionLess(a, b string) bool {
	pa, pb := versionParts(a), versionParts(b)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, y := pa[i], pb[i]
		xd, yd := isDigits(x), isDigits(y)
		switch {
		case xd && yd:
			x, y = strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0")
			if len(x) != len(y) {
				return len(x) < len(y)
			}
			if x != y {
				return x < y
			}
		case x != y:
			return x < y
		}
	}
	// One is a prefix of the other: a pre-release ("1.2.0-rc1") sorts
	// before its release, anything else after.
	if len(pa) < len(pb) {
		return !strings.HasPrefix(pb[len(pa)], "-")
	}
	if len(pa) > len(pb) {
		return strings.HasPrefix(pa[len(pb)], "-")
	}
	return false
}

func versionParts(v string) []string {
	v = strings.TrimPrefix(strings.TrimPrefix(v, "go"), "v")
	var parts []string
	for i := 0; i < len(v); {
		j := i + 1
		digit := unicode.IsDigit(rune(v[i]))
		for j < len(v) && unicode.IsDigit(rune(v[j])) == digit && (digit || (v[j] != '.' && v[i] != '.')) {
			j++
		}
		if p := v[i:j]; p != "." {
			parts = append(parts, p)
		}
		i = j
	}
	return parts
}

func isDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}

// BaseUpdate is what updating the base image would clear: of the findings
// in the base image's layers, those the newer base no longer has.
type BaseUpdate struct {
	// Newer names the newer base image.
	Newer string `json:"newer"`
	// InBase counts the findings in the current base's layers; Cleared
	// those of them the newer base does not have.
	InBase  int `json:"inBase"`
	Cleared int `json:"cleared"`
	// Advisories are the cleared advisories.
	Advisories []string `json:"advisories"`
}

// BaseUpdateOf compares the findings in the base image's layers (Base
// true) with the newer base's own findings: an advisory of a package the
// newer base no longer reports is cleared by the update.
func BaseUpdateOf(findings, newer []Finding, newerName string) BaseUpdate {
	type key struct{ id, pkg string }
	still := map[key]bool{}
	for _, f := range newer {
		still[key{f.ID, f.Package.Name}] = true
	}
	u := BaseUpdate{Newer: newerName}
	seen := map[string]bool{}
	for _, f := range findings {
		inBase := len(f.Locations) > 0
		for _, l := range f.Locations {
			inBase = inBase && l.Base != nil && *l.Base
		}
		if !inBase {
			continue
		}
		u.InBase++
		if !still[key{f.ID, f.Package.Name}] {
			u.Cleared++
			if !seen[f.ID] {
				seen[f.ID] = true
				u.Advisories = append(u.Advisories, f.ID)
			}
		}
	}
	sort.Strings(u.Advisories)
	return u
}
