package secrets

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"
)

// AllowList accepts findings that are known not to be live credentials:
// test fixtures, documentation examples, revoked keys kept for a test.
// An accepted finding is still reported, marked allowed; it never denies.
type AllowList struct {
	// Paths are doublestar globs ("testdata/**", "**/*.example") matched
	// against the finding's file, without a leading slash.
	Paths []string `yaml:"paths" json:"paths"`
	// Rules are gitleaks rule IDs ("generic-api-key").
	Rules []string `yaml:"rules" json:"rules"`
	// Fingerprints are file:rule:line, as findings and .gitleaksignore
	// files carry them.
	Fingerprints []string `yaml:"fingerprints" json:"fingerprints"`
}

// Match returns the entry that accepts f ("path testdata/**", "rule …",
// "fingerprint …"), or "" when none does.
func (a AllowList) Match(f Finding) string {
	for _, fp := range a.Fingerprints {
		if fp == f.Fingerprint {
			return "fingerprint " + fp
		}
	}
	for _, r := range a.Rules {
		if r == f.Rule {
			return "rule " + r
		}
	}
	file := strings.TrimPrefix(f.File, "/")
	for _, p := range a.Paths {
		if ok, _ := doublestar.Match(strings.TrimPrefix(p, "/"), file); ok {
			return "path " + p
		}
	}
	return ""
}

// Merge returns the entries of both lists.
func (a AllowList) Merge(b AllowList) AllowList {
	return AllowList{
		Paths:        append(append([]string(nil), a.Paths...), b.Paths...),
		Rules:        append(append([]string(nil), a.Rules...), b.Rules...),
		Fingerprints: append(append([]string(nil), a.Fingerprints...), b.Fingerprints...),
	}
}

// LoadAllowList reads an allow-list: YAML with paths, rules and
// fingerprints, or, for a file named .gitleaksignore, one fingerprint per
// line (# starts a comment).
func LoadAllowList(path string) (AllowList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return AllowList{}, fmt.Errorf("secrets allow-list: %w", err)
	}
	if strings.HasSuffix(path, ".gitleaksignore") {
		return parseIgnore(data), nil
	}
	// Errors never quote the file: a credential pasted into it by mistake
	// must not reach a log.
	var a AllowList
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&a); err != nil && err.Error() != "EOF" {
		where := ""
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			where = " at line " + m[1]
		}
		return AllowList{}, fmt.Errorf("secrets allow-list %s: not an allow-list%s (YAML with the lists paths, rules and fingerprints, or a .gitleaksignore)", path, where)
	}
	for i, p := range a.Paths {
		if !doublestar.ValidatePattern(p) {
			return AllowList{}, fmt.Errorf("secrets allow-list %s: paths[%d] is not a valid glob", path, i)
		}
	}
	for i, fp := range a.Fingerprints {
		if strings.Count(fp, ":") < 2 {
			return AllowList{}, fmt.Errorf("secrets allow-list %s: fingerprints[%d] is not file:rule:line", path, i)
		}
	}
	return a, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func parseIgnore(data []byte) AllowList {
	var a AllowList
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// commit:file:rule:line (from a git scan) also names file:rule:line.
		if parts := strings.Split(line, ":"); len(parts) >= 4 && len(parts[0]) == 40 {
			line = strings.Join(parts[1:], ":")
		}
		a.Fingerprints = append(a.Fingerprints, line)
	}
	return a
}

// DefaultAllowFiles are read from the working directory when present and
// no allow-list is named: sealyard's own, and gitleaks' ignore file.
var DefaultAllowFiles = []string{".sealyard-secrets.yaml", ".gitleaksignore"}

// LoadAllowLists merges the allow-lists at paths; with none, the
// DefaultAllowFiles that exist.
func LoadAllowLists(paths []string) (AllowList, error) {
	explicit := len(paths) > 0
	if !explicit {
		paths = DefaultAllowFiles
	}
	var all AllowList
	for _, p := range paths {
		if !explicit {
			if _, err := os.Stat(p); err != nil {
				continue
			}
		}
		a, err := LoadAllowList(p)
		if err != nil {
			return AllowList{}, err
		}
		all = all.Merge(a)
	}
	return all, nil
}
