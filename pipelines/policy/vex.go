package policy

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// ErrBadVEX is wrapped by errors about a VEX document.
var ErrBadVEX = errors.New("bad VEX document")

// VEXDocument is a parsed OpenVEX document and where it came from.
type VEXDocument struct {
	Name string
	doc  *vex.VEX
}

// ParseVEX parses an OpenVEX document (name is used in messages).
func ParseVEX(data []byte, name string) (*VEXDocument, error) {
	doc, err := vex.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadVEX, name, err)
	}
	if !strings.HasPrefix(doc.Context, vex.Context) {
		return nil, fmt.Errorf("%w %s: @context is %q, not OpenVEX (%s...)", ErrBadVEX, name, doc.Context, vex.Context)
	}
	if len(doc.Statements) == 0 {
		return nil, fmt.Errorf("%w %s: the document has no statements", ErrBadVEX, name)
	}
	for i := range doc.Statements {
		if err := doc.Statements[i].Validate(); err != nil {
			return nil, fmt.Errorf("%w %s: statement %d: %w", ErrBadVEX, name, i+1, err)
		}
	}
	return &VEXDocument{Name: name, doc: doc}, nil
}

type vexMatch struct {
	stmt vex.Statement
	doc  *VEXDocument
	when time.Time
}

// applyVEX removes the findings an effective not_affected or fixed
// statement covers, and records the statements.
func applyVEX(in *Input, docs []*VEXDocument) {
	if len(docs) == 0 {
		return
	}
	products := imageProducts(in.Image)
	applied := map[string]*VEXApplied{}
	kept := []facts.Finding{}
	for _, f := range in.Findings {
		m := effective(docs, f, products)
		if m == nil || (m.stmt.Status != vex.StatusNotAffected && m.stmt.Status != vex.StatusFixed) {
			kept = append(kept, f)
			continue
		}
		key := m.doc.Name + "|" + string(m.stmt.Vulnerability.Name) + "|" + string(m.stmt.Status)
		a := applied[key]
		if a == nil {
			product := ""
			if len(m.stmt.Products) > 0 {
				product = m.stmt.Products[0].ID
			}
			a = &VEXApplied{
				Vulnerability:   string(m.stmt.Vulnerability.Name),
				Status:          string(m.stmt.Status),
				Justification:   string(m.stmt.Justification),
				ImpactStatement: m.stmt.ImpactStatement,
				Document:        m.doc.Name,
				Product:         product,
			}
			applied[key] = a
		}
		a.Findings = append(a.Findings, refOf(f))
	}
	in.Findings = kept
	keys := make([]string, 0, len(applied))
	for k := range applied {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.VEX.Applied = append(in.VEX.Applied, *applied[k])
	}
}

// FilterVEX moves the findings of rep that an effective not_affected or
// fixed statement of docs covers (the product being rep's image, by
// digest, reference or package URL) to rep.Ignored, each with the
// statement as its reason, and counts again. It returns how many moved.
func FilterVEX(rep *facts.Report, docs []*VEXDocument) int {
	if rep.Image == nil || len(docs) == 0 {
		return 0
	}
	products := imageProducts(Image{Reference: rep.Image.Name, Digest: rep.Image.Digest})
	kept := []facts.Finding{}
	moved := 0
	for _, f := range rep.Findings {
		m := effective(docs, f, products)
		if m == nil || (m.stmt.Status != vex.StatusNotAffected && m.stmt.Status != vex.StatusFixed) {
			kept = append(kept, f)
			continue
		}
		reason := fmt.Sprintf("VEX %s: %s", m.doc.Name, m.stmt.Status)
		if m.stmt.Justification != "" {
			reason += " (" + string(m.stmt.Justification) + ")"
		}
		rep.Ignored = append(rep.Ignored, facts.Ignored{Finding: f, Reasons: []string{reason}})
		moved++
	}
	rep.Findings = kept
	rep.Summary = facts.Summarize(rep.Findings, len(rep.Ignored))
	return moved
}

// effective returns the latest statement of any document about f.
func effective(docs []*VEXDocument, f facts.Finding, products []string) *vexMatch {
	ids := append([]string{f.ID}, f.Aliases...)
	var best *vexMatch
	for _, d := range docs {
		for _, st := range d.doc.Statements {
			if !statementCovers(st, ids, products, f.Package.PURL) {
				continue
			}
			when := time.Time{}
			if d.doc.Timestamp != nil {
				when = *d.doc.Timestamp
			}
			if st.Timestamp != nil {
				when = *st.Timestamp
			}
			if st.LastUpdated != nil && st.LastUpdated.After(when) {
				when = *st.LastUpdated
			}
			if best == nil || !when.Before(best.when) {
				best = &vexMatch{stmt: st, doc: d, when: when}
			}
		}
	}
	return best
}

func statementCovers(st vex.Statement, ids, products []string, purl string) bool {
	matched := false
	for _, id := range ids {
		if st.Vulnerability.Matches(id) {
			matched = true
			break
		}
	}
	if !matched {
		return false
	}
	for _, p := range products {
		if st.MatchesProduct(p, purl) {
			return true
		}
	}
	// A statement may name the package itself as the product.
	return purl != "" && st.MatchesProduct(purl, "")
}

// imageProducts are the identifiers a VEX product may use for the image:
// its digest, its reference by digest, and its pkg:oci PURL.
func imageProducts(img Image) []string {
	if img.Digest == "" {
		return nil
	}
	out := []string{img.Digest, strings.TrimPrefix(img.Digest, "sha256:")}
	repo := img.Reference
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	if repo != "" {
		out = append(out, repo+"@"+img.Digest)
		name := repo[strings.LastIndex(repo, "/")+1:]
		out = append(out, "pkg:oci/"+name+"@"+url.QueryEscape(img.Digest)+"?repository_url="+url.QueryEscape(repo))
		out = append(out, "pkg:oci/"+name+"@"+url.QueryEscape(img.Digest))
	}
	return out
}
