package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	packageurl "github.com/package-url/packageurl-go"

	"github.com/sealyard/sealyard/pipelines/facts"
)

const (
	// OpenVEXContext is the @context of an OpenVEX v0.2.0 document.
	OpenVEXContext   = "https://openvex.dev/ns/v0.2.0"
	vexAuthor        = "sealyard reachability analysis"
	maxImpactSymbols = 12
)

// VEXSubject is the image a reachability VEX document speaks of.
type VEXSubject struct {
	// Repository is registry/repository ("ghcr.io/acme/app"), or "" when
	// the image has none yet (the document then names it by digest
	// only, as pkg:oci/image@sha256:...).
	Repository string
	// Digest is the image's digest: an image manifest, or the index of
	// a multi-platform image.
	Digest string
}

// ReachabilityVEX states, as OpenVEX v0.2.0, what the symbol analysis
// showed: for every finding whose vulnerable code is not linked into the
// binary it was found in (Reachable false), the image is not_affected,
// vulnerable_code_not_in_execute_path, with the symbols checked as the
// impact statement. Findings that are reachable, or whose reachability is
// unknown (no symbol information, another ecosystem), get no statement.
//
// reports are the scan reports of the image's platforms. A finding
// unreachable on every platform where it occurs is stated for the index
// digest and each platform image; otherwise only for the platform images
// where it is unreachable. The document is deterministic: its timestamp is
// when, its @id a hash of its statements. It returns the document and the
// number of statements (0: nothing to state, and the caller writes none).
func ReachabilityVEX(reports []*facts.Report, subject VEXSubject, toolVersion string, when time.Time) ([]byte, int, error) {
	if subject.Digest == "" {
		return nil, 0, fmt.Errorf("a reachability VEX document needs the image digest")
	}
	type key struct{ id, purl string }
	type claim struct {
		f facts.Finding
		// unreachable and linked hold the platform image digests where
		// an occurrence is unreachable, and where one is reachable or
		// unknown: an image is not affected only if no binary in it
		// links the code.
		unreachable, linked map[string]bool
		paths               map[string]bool
	}
	claims := map[key]*claim{}
	for _, r := range reports {
		imgDigest := subject.Digest
		if r.Image != nil && r.Image.Digest != "" {
			imgDigest = r.Image.Digest
		}
		for _, f := range r.Findings {
			if f.Package.PURL == "" {
				continue
			}
			k := key{f.ID, f.Package.PURL}
			c := claims[k]
			if c == nil {
				c = &claim{f: f, unreachable: map[string]bool{}, linked: map[string]bool{}, paths: map[string]bool{}}
				claims[k] = c
			}
			if f.Reachable == nil || *f.Reachable {
				c.linked[imgDigest] = true
				continue
			}
			c.unreachable[imgDigest] = true
			for _, l := range f.Locations {
				c.paths[l.Path] = true
			}
		}
	}
	// What each claim may state: the platform images where every
	// occurrence is unreachable, and the index when that holds for all.
	stated := map[key][]string{}
	for k, c := range claims {
		var digests []string
		for d := range c.unreachable {
			if !c.linked[d] {
				digests = append(digests, d)
			}
		}
		if len(digests) == 0 {
			continue
		}
		if len(c.linked) == 0 && !c.unreachable[subject.Digest] {
			digests = append(digests, subject.Digest)
		}
		sort.Strings(digests)
		stated[k] = digests
	}
	keys := make([]key, 0, len(stated))
	for k := range stated {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].id != keys[j].id {
			return keys[i].id < keys[j].id
		}
		return keys[i].purl < keys[j].purl
	})
	ts := when.UTC().Format(time.RFC3339)
	stmts := make([]vexStatement, 0, len(keys))
	for _, k := range keys {
		c, digests := claims[k], stated[k]
		var products []vexProduct
		for _, d := range digests {
			for _, id := range ociPURLs(subject.Repository, d) {
				products = append(products, vexProduct{
					ID: id, Identifiers: map[string]string{"purl": id}, Hashes: digestHashes(d),
					Subcomponents: []vexComponent{{ID: k.purl, Identifiers: map[string]string{"purl": k.purl}}},
				})
			}
		}
		stmts = append(stmts, vexStatement{
			Vulnerability:   vexVulnerability{Name: k.id, Aliases: nonEmpty(c.f.Aliases)},
			Timestamp:       ts,
			Products:        products,
			Status:          "not_affected",
			Justification:   "vulnerable_code_not_in_execute_path",
			ImpactStatement: impactStatement(c.f, c.paths),
		})
	}
	if len(stmts) == 0 {
		return nil, 0, nil
	}
	body, err := json.Marshal(stmts)
	if err != nil {
		return nil, 0, err
	}
	sum := sha256.Sum256(append([]byte(subject.Repository+"@"+subject.Digest+"\n"), body...))
	doc := vexDocument{
		Context:    OpenVEXContext,
		ID:         "https://sealyard.dev/vex/reachability/sha256-" + hex.EncodeToString(sum[:]),
		Author:     vexAuthor,
		Role:       "tool",
		Timestamp:  ts,
		Version:    1,
		Tooling:    "sealyard " + toolVersion,
		Statements: stmts,
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, 0, err
	}
	return append(out, '\n'), len(stmts), nil
}

// impactStatement says what was checked and where.
func impactStatement(f facts.Finding, paths map[string]bool) string {
	bins := make([]string, 0, len(paths))
	for p := range paths {
		bins = append(bins, p)
	}
	sort.Strings(bins)
	where := "the binary"
	if len(bins) > 0 {
		where = strings.Join(bins, ", ")
	}
	var syms, pkgs []string
	for _, imp := range f.GoImports {
		if len(imp.Symbols) == 0 {
			pkgs = append(pkgs, imp.Path)
			continue
		}
		for _, s := range imp.Symbols {
			syms = append(syms, imp.Path+"."+s)
		}
	}
	sort.Strings(syms)
	sort.Strings(pkgs)
	var what []string
	if len(syms) > 0 {
		shown := syms
		if len(shown) > maxImpactSymbols {
			shown = append(shown[:maxImpactSymbols:maxImpactSymbols], fmt.Sprintf("%d more", len(syms)-maxImpactSymbols))
		}
		what = append(what, "none of the vulnerable symbols "+strings.Join(shown, ", "))
	}
	if len(pkgs) > 0 {
		what = append(what, "no code of the vulnerable packages "+strings.Join(pkgs, ", "))
	}
	if len(what) == 0 {
		what = append(what, "no code of the module "+f.Package.Name)
	}
	return fmt.Sprintf("%s %s: %s is linked into %s (sealyard read the symbol table of the binary).",
		f.Package.Name, f.Package.Version, strings.Join(what, ", and "), where)
}

// ociPURLs names an image by digest as package URLs: with its repository
// as repository_url when it has one (the purl-spec's oci form), and bare.
// Scanners compare only the qualifiers a document names, so the bare form
// matches the image wherever it is pushed; the other pins the repository.
func ociPURLs(repository, digest string) []string {
	nameOf := "image"
	if repository != "" {
		nameOf = strings.ToLower(repository[strings.LastIndex(repository, "/")+1:])
	}
	bare := packageurl.NewPackageURL("oci", "", nameOf, digest, nil, "").ToString()
	if repository == "" {
		return []string{bare}
	}
	pinned := packageurl.NewPackageURL("oci", "", nameOf, digest,
		packageurl.QualifiersFromMap(map[string]string{"repository_url": strings.ToLower(repository)}), "").ToString()
	return []string{pinned, bare}
}

// digestHashes names an image digest as OpenVEX hashes ("sha-256": hex):
// scanners that know the image only by its digest match on it.
func digestHashes(digest string) map[string]string {
	if hex, ok := strings.CutPrefix(digest, "sha256:"); ok {
		return map[string]string{"sha-256": hex}
	}
	return nil
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

type vexDocument struct {
	Context    string         `json:"@context"`
	ID         string         `json:"@id"`
	Author     string         `json:"author"`
	Role       string         `json:"role,omitempty"`
	Timestamp  string         `json:"timestamp"`
	Version    int            `json:"version"`
	Tooling    string         `json:"tooling,omitempty"`
	Statements []vexStatement `json:"statements"`
}

type vexStatement struct {
	Vulnerability   vexVulnerability `json:"vulnerability"`
	Timestamp       string           `json:"timestamp,omitempty"`
	Products        []vexProduct     `json:"products"`
	Status          string           `json:"status"`
	Justification   string           `json:"justification,omitempty"`
	ImpactStatement string           `json:"impact_statement,omitempty"`
}

type vexVulnerability struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

type vexProduct struct {
	ID            string            `json:"@id"`
	Identifiers   map[string]string `json:"identifiers,omitempty"`
	Hashes        map[string]string `json:"hashes,omitempty"`
	Subcomponents []vexComponent    `json:"subcomponents,omitempty"`
}

type vexComponent struct {
	ID          string            `json:"@id"`
	Identifiers map[string]string `json:"identifiers,omitempty"`
}
