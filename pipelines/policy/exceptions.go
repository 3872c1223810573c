package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ErrBadExceptions is wrapped by errors about an exceptions file.
var ErrBadExceptions = errors.New("bad exceptions file")

// RuleExpiredException is the rule an expired exception raises. No
// exception can waive it.
const RuleExpiredException = "SY-EXC-001"

// Exception waives violations. It names what it covers (a vulnerability,
// a package or a rule; an image selector only narrows it), and all the
// selectors given must match. Reason, owner and expiry are required: an exception nobody owns,
// or that never ends, is a governance gap.
type Exception struct {
	ID            string `yaml:"id" json:"id,omitempty"`
	Vulnerability string `yaml:"vulnerability" json:"vulnerability,omitempty"`
	Package       string `yaml:"package" json:"package,omitempty"`
	Rule          string `yaml:"rule" json:"rule,omitempty"`
	Image         string `yaml:"image" json:"image,omitempty"`
	Reason        string `yaml:"reason" json:"reason"`
	Owner         string `yaml:"owner" json:"owner"`
	Expires       string `yaml:"expires" json:"expires"`

	expiry time.Time
	line   int
}

// ParseExceptions reads an exceptions file:
//
//	exceptions:
//	  - vulnerability: GO-2021-0113
//	    package: golang.org/x/text
//	    reason: upstream fix is being rolled out
//	    owner: payments-team@example.com
//	    expires: 2026-12-31
//
// name is used in error messages.
func ParseExceptions(r io.Reader, name string) ([]Exception, error) {
	data, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Exceptions []yaml.Node `yaml:"exceptions"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w %s: the file is empty", ErrBadExceptions, name)
		}
		return nil, fmt.Errorf("%w %s: %w", ErrBadExceptions, name, err)
	}
	var out []Exception
	for i, node := range doc.Exceptions {
		if err := knownKeys(node); err != nil {
			return nil, fmt.Errorf("%w %s: exception %d (line %d): %w", ErrBadExceptions, name, i+1, node.Line, err)
		}
		var e Exception
		if err := node.Decode(&e); err != nil {
			return nil, fmt.Errorf("%w %s: exception %d (line %d): %w", ErrBadExceptions, name, i+1, node.Line, err)
		}
		e.line = node.Line
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("%w %s: exception %d (line %d): %w", ErrBadExceptions, name, i+1, node.Line, err)
		}
		out = append(out, e)
	}
	return out, nil
}

var exceptionKeys = map[string]bool{"id": true, "vulnerability": true, "package": true, "rule": true, "image": true, "reason": true, "owner": true, "expires": true}

func knownKeys(n yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("want a mapping of id, vulnerability, package, rule, image, reason, owner, expires")
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if !exceptionKeys[k.Value] {
			return fmt.Errorf("unknown field %q at line %d (fields: id, vulnerability, package, rule, image, reason, owner, expires)", k.Value, k.Line)
		}
	}
	return nil
}

func (e *Exception) validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"reason", e.Reason}, {"owner", e.Owner}, {"expires", e.Expires}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (every exception needs a reason, an owner and an expiry date)", strings.Join(missing, ", "))
	}
	if e.Vulnerability == "" && e.Package == "" && e.Rule == "" {
		if e.Image != "" {
			return fmt.Errorf("image %q alone would waive every rule for that image: name a vulnerability, a package or a rule (image only narrows an exception)", e.Image)
		}
		return errors.New("no selector: name a vulnerability, a package or a rule (and optionally an image)")
	}
	if strings.EqualFold(strings.TrimSpace(e.Rule), RuleExpiredException) {
		return fmt.Errorf("rule %s (an expired exception) cannot be waived: renew or remove the expired exception instead", RuleExpiredException)
	}
	t, err := parseExpiry(e.Expires)
	if err != nil {
		return err
	}
	e.expiry = t
	return nil
}

// parseExpiry reads a date (valid through that day, UTC) or an RFC 3339 time.
func parseExpiry(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("expires %q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
}

// Expired reports whether the exception no longer applies at now.
func (e Exception) Expired(now time.Time) bool { return !now.Before(e.expiry) }

func (e Exception) selector() string {
	var parts []string
	if e.Vulnerability != "" {
		parts = append(parts, "vulnerability "+e.Vulnerability)
	}
	if e.Package != "" {
		parts = append(parts, "package "+e.Package)
	}
	if e.Rule != "" {
		parts = append(parts, "rule "+e.Rule)
	}
	if e.Image != "" {
		parts = append(parts, "image "+e.Image)
	}
	return strings.Join(parts, ", ")
}

// exceptionOf turns an applied exception recorded in a policy input back
// into the exception, to replay a decision.
func exceptionOf(f ExceptionFact) Exception {
	return Exception{ID: f.ID, Vulnerability: f.Vulnerability, Package: f.Package, Rule: f.Rule, Image: f.Image, Reason: f.Reason, Owner: f.Owner, Expires: f.Expires}
}

func (e Exception) fact() ExceptionFact {
	expires := e.Expires
	if t, err := time.Parse(time.RFC3339, e.Expires); err == nil {
		expires = t.UTC().Format("2006-01-02")
	}
	return ExceptionFact{
		ID: e.ID, Selector: e.selector(), Vulnerability: e.Vulnerability, Package: e.Package,
		Rule: e.Rule, Image: e.Image, Reason: e.Reason, Owner: e.Owner, Expires: expires,
	}
}

// matchesImage reports whether the image selector (repository, full
// reference or digest) names the image.
func (e Exception) matchesImage(img Image) bool {
	if e.Image == "" {
		return true
	}
	if e.Image == img.Digest || e.Image == img.Reference {
		return true
	}
	repo := img.Reference
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return e.Image == repo
}

// matchesFinding reports whether the vulnerability and package selectors
// match f (an absent selector matches).
func (e Exception) matchesFinding(f FindingRef, aliases []string) bool {
	if e.Vulnerability != "" {
		ok := strings.EqualFold(e.Vulnerability, f.ID)
		for _, a := range aliases {
			ok = ok || strings.EqualFold(e.Vulnerability, a)
		}
		if !ok {
			return false
		}
	}
	if e.Package != "" && !packageMatches(e.Package, f.Package, f.Version, f.PURL) {
		return false
	}
	return true
}

// packageMatches compares a package selector (a name, or a PURL with or
// without version) with a package.
func packageMatches(sel, name, version, purl string) bool {
	if !strings.HasPrefix(sel, "pkg:") {
		return sel == name
	}
	selBase, selVersion, hasVersion := strings.Cut(stripQualifiers(sel), "@")
	base, ver, _ := strings.Cut(stripQualifiers(purl), "@")
	if selBase != base {
		return false
	}
	return !hasVersion || selVersion == ver || selVersion == version
}

func stripQualifiers(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// appliesToAny reports whether an exception would cover some finding of
// in (used to tell which expired exceptions matter).
func (e Exception) appliesToAny(in *Input) bool {
	if !e.matchesImage(in.Image) {
		return false
	}
	if e.Vulnerability == "" && e.Package == "" {
		return true
	}
	for _, f := range in.Findings {
		if e.matchesFinding(refOf(f), f.Aliases) {
			return true
		}
	}
	return false
}
