package vulndb

import (
	"fmt"
	"sort"
	"sync"

	v6 "github.com/anchore/grype/grype/db/v6"
)

// GoImport is a package of an affected Go module and the vulnerable symbols
// in it, as the advisory lists them (OSV ecosystem_specific.imports). No
// symbols means the whole package is vulnerable.
type GoImport struct {
	Path    string   `json:"path"`
	Symbols []string `json:"symbols,omitempty"`
	// GOOS and GOARCH limit the import to those platforms (empty: all).
	// Only databases made by Build record them.
	GOOS   []string `json:"goos,omitempty"`
	GOARCH []string `json:"goarch,omitempty"`
}

type goImportsKey struct{ vuln, pkg string }

var goImportsCache sync.Map // per process; keyed by DB digest too

// GoImports returns the affected packages and symbols the advisory vulnID
// lists for the Go module pkgName.
func (d *DB) GoImports(vulnID, pkgName string) ([]GoImport, error) {
	key := goImportsKey{vuln: d.status.Digest + "/" + vulnID, pkg: pkgName}
	if v, ok := goImportsCache.Load(key); ok {
		return v.([]GoImport), nil
	}
	handles, err := d.reader.GetAffectedPackages(
		&v6.PackageSpecifier{Name: pkgName},
		&v6.GetPackageOptions{PreloadBlob: true, Vulnerabilities: v6.VulnerabilitySpecifiers{{Name: vulnID}}},
	)
	if err != nil {
		return nil, fmt.Errorf("reading affected packages of %s: %w", vulnID, err)
	}
	seen := map[string]int{}
	var out []GoImport
	for _, h := range handles {
		if h.BlobValue == nil || h.BlobValue.Qualifiers == nil {
			continue
		}
		for _, imp := range h.BlobValue.Qualifiers.GoImports {
			if i, ok := seen[imp.Path]; ok {
				out[i].Symbols = mergeSorted(out[i].Symbols, imp.Symbols)
				continue
			}
			seen[imp.Path] = len(out)
			out = append(out, GoImport{Path: imp.Path, Symbols: mergeSorted(nil, imp.Symbols)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	limits, err := d.platforms(vulnID, pkgName)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if l, ok := limits[out[i].Path]; ok {
			out[i].GOOS, out[i].GOARCH = splitList(l.GOOS), splitList(l.GOARCH)
		}
	}
	goImportsCache.Store(key, out)
	return out, nil
}

func mergeSorted(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
