package sbom

import (
	"github.com/sealyard/sealyard/pipelines/facts"
)

// Packages summarises the document's packages for the gate: name,
// version, type, PURL and license identifiers.
func Packages(d *Document) []facts.SBOMPackage {
	var out []facts.SBOMPackage
	for _, p := range d.SBOM.Artifacts.Packages.Sorted() {
		sp := facts.SBOMPackage{Name: p.Name, Version: p.Version, Type: string(p.Type), PURL: p.PURL, Licenses: []string{}}
		seen := map[string]bool{}
		for _, l := range p.Licenses.ToSlice() {
			id := l.SPDXExpression
			if id == "" {
				id = l.Value
			}
			if id != "" && !seen[id] {
				seen[id] = true
				sp.Licenses = append(sp.Licenses, id)
			}
		}
		out = append(out, sp)
	}
	return out
}
