// Package govulncheck runs the govulncheck CLI (the ground truth for Go
// binaries) offline, against a local copy of the same pinned Go
// vulnerability database sealyard builds its grype database from.
package govulncheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sealyard/sealyard/internal/testutil/fixturecache"
)

// Version of govulncheck the tests compare against.
const Version = "v1.9.0"

// Binary installs govulncheck with go install (cached) and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	dir := fixturecache.Dir(t, "govulncheck", fixturecache.Key("govulncheck", Version), func(dir string) error {
		cmd := exec.Command("go", "install", "golang.org/x/vuln/cmd/govulncheck@"+Version)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go install govulncheck: %v\n%s", err, out)
		}
		return nil
	})
	return filepath.Join(dir, "govulncheck")
}

// DB lays the OSV records in osvDir out as the Go vulnerability database
// govulncheck reads (index/db.json, index/modules.json, ID/<id>.json), as
// documented at https://go.dev/doc/security/vuln/database, and returns the
// folder (cached by key).
func DB(t testing.TB, osvDir, key string) string {
	t.Helper()
	return fixturecache.Dir(t, "govulncheck-db", fixturecache.Key("govulncheck-db-v1", key), func(dir string) error {
		return writeDB(osvDir, dir)
	})
}

type osvEntry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func writeDB(osvDir, out string) error {
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "ID"), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(out, "index"), 0o755); err != nil {
		return err
	}
	mods := map[string]*module{}
	var latest time.Time
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var e osvEntry
		if err := json.Unmarshal(data, &e); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), data, 0o644); err != nil {
			return err
		}
		if e.Modified.After(latest) {
			latest = e.Modified
		}
		for _, a := range e.Affected {
			m := mods[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name}
				mods[a.Package.Name] = m
			}
			v := moduleVuln{ID: e.ID, Modified: e.Modified}
			for _, r := range a.Ranges {
				for _, ev := range r.Events {
					if fx, ok := ev["fixed"]; ok {
						v.Fixed = fx
					}
				}
			}
			m.Vulns = append(m.Vulns, v)
		}
	}
	var list []*module
	for _, m := range mods {
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	if err := writeJSON(filepath.Join(out, "index", "modules.json"), list); err != nil {
		return err
	}
	return writeJSON(filepath.Join(out, "index", "db.json"), map[string]time.Time{"modified": latest})
}

func writeJSON(p string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// Result is what govulncheck found in one binary.
type Result struct {
	// Module holds every advisory reported at any level: the binary's
	// modules (and Go version) are affected.
	Module map[string]bool
	// Symbol holds the advisories with a finding whose trace has a
	// function: a vulnerable symbol is in the binary.
	Symbol map[string]bool
	// Fixed maps advisory to the fixed version govulncheck suggests.
	Fixed map[string]string
}

// Run scans binary in binary mode with the database at db.
func Run(t testing.TB, bin, db, binary string) Result {
	t.Helper()
	cmd := exec.Command(bin, "-db", "file://"+db, "-mode=binary", "-format", "json", binary)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("govulncheck %s: %v\n%s", binary, err, stderr.String())
	}
	res := Result{Module: map[string]bool{}, Symbol: map[string]bool{}, Fixed: map[string]string{}}
	dec := json.NewDecoder(&stdout)
	for {
		var msg struct {
			Finding *struct {
				OSV          string `json:"osv"`
				FixedVersion string `json:"fixed_version"`
				Trace        []struct {
					Module   string `json:"module"`
					Package  string `json:"package"`
					Function string `json:"function"`
				} `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("govulncheck output: %v", err)
		}
		f := msg.Finding
		if f == nil {
			continue
		}
		res.Module[f.OSV] = true
		res.Fixed[f.OSV] = strings.TrimPrefix(f.FixedVersion, "v")
		if len(f.Trace) > 0 && f.Trace[0].Function != "" {
			res.Symbol[f.OSV] = true
		}
	}
	return res
}
