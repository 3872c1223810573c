package repocheck

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// daggerConfig is dagger.json, with the fields Dagger's module
// configuration schema defines for a module like this one; anything else
// is refused.
type daggerConfig struct {
	Schema        string `json:"$schema,omitempty"`
	Name          string `json:"name"`
	EngineVersion string `json:"engineVersion"`
	SDK           struct {
		Source string `json:"source"`
	} `json:"sdk"`
	Source  string   `json:"source"`
	Include []string `json:"include,omitempty"`
	Codegen *struct {
		AutomaticGitignore *bool `json:"automaticGitignore,omitempty"`
	} `json:"codegen,omitempty"`
}

func readDaggerJSON(t *testing.T) daggerConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "dagger.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c daggerConfig
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("dagger.json: %v", err)
	}
	return c
}

// heavy are the modules the Dagger module must never require: Dagger's
// generator pins the module's dependencies, and only the SDK fits.
var heavy = []string{"github.com/sealyard/sealyard", "github.com/anchore/", "github.com/sigstore/", "github.com/open-policy-agent/", "github.com/google/go-containerregistry"}

// TestDaggerJSON checks the module configuration against what the module
// is: its name, SDK and source directory, an engine version that is the
// dagger.io/dagger the CLI links, a go line the v0.21.6 generator accepts,
// and a go.mod with nothing of the root module's tree.
func TestDaggerJSON(t *testing.T) {
	c := readDaggerJSON(t)
	if c.Name != "sealyard" || c.SDK.Source != "go" || c.Source != "ci" {
		t.Fatalf("dagger.json: name %q, sdk %q, source %q", c.Name, c.SDK.Source, c.Source)
	}
	rootMod := parseMod(t, "go.mod")
	found := false
	for _, r := range rootMod.Require {
		if r.Mod.Path == "dagger.io/dagger" {
			found = r.Mod.Version == c.EngineVersion
		}
	}
	if !found {
		t.Fatalf("go.mod does not pin dagger.io/dagger %s, the engine dagger.json names", c.EngineVersion)
	}
	ci := parseMod(t, "ci/go.mod")
	if p := problems(ci); len(p) > 0 {
		t.Fatal(strings.Join(p, "\n"))
	}
	// The check can fail: a go line the generator refuses, and a require
	// of the root module, are caught.
	bad := parseMod(t, "ci/go.mod")
	bad.AddGoStmt("1.26.8")
	bad.AddRequire("github.com/sealyard/sealyard", "v0.0.0-00010101000000-000000000000")
	if len(problems(bad)) != 2 {
		t.Fatalf("the go.mod check misses a go 1.26.8 line or a require of the root module: %v", problems(bad))
	}
	for _, f := range []string{"main.go", "go.sum", ".gitignore"} {
		if _, err := os.Stat(filepath.Join(root, c.Source, f)); err != nil {
			t.Fatalf("the module source lacks %s: %v", f, err)
		}
	}
}

func parseMod(t *testing.T, rel string) *modfile.File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse(rel, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// problems lists what in ci/go.mod the generator or the design refuses.
func problems(f *modfile.File) []string {
	var out []string
	if f.Go == nil || versionAbove(f.Go.Version, "1.26.1") {
		out = append(out, "ci/go.mod: the go line must be at most 1.26.1 (the v0.21.6 engine's generator refuses newer)")
	}
	for _, r := range f.Require {
		for _, h := range heavy {
			if strings.HasPrefix(r.Mod.Path, h) {
				out = append(out, "ci/go.mod requires "+r.Mod.Path+": the module requires only the Dagger SDK and runs the sealyard CLI")
			}
		}
	}
	for _, r := range f.Replace {
		if strings.HasPrefix(r.New.Path, ".") {
			out = append(out, "ci/go.mod replaces "+r.Old.Path+" with a local path")
		}
	}
	return out
}

func versionAbove(v, limit string) bool {
	a, b := strings.Split(v, "."), strings.Split(limit, ".")
	for i := 0; i < len(a) || i < len(b); i++ {
		x, y := part(a, i), part(b, i)
		if x != y {
			return x > y
		}
	}
	return false
}

func part(p []string, i int) int {
	if i >= len(p) {
		return 0
	}
	n := 0
	for _, c := range p[i] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestModuleImportsNothingOfTheRoot: no file of ci/ imports the root
// module or its heavy dependencies.
func TestModuleImportsNothingOfTheRoot(t *testing.T) {
	err := filepath.Walk(filepath.Join(root, "ci"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || !strings.HasSuffix(p, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			for _, h := range heavy {
				if strings.HasPrefix(strings.Trim(im.Path.Value, `"`), h) {
					t.Errorf("%s imports %s", p, im.Path.Value)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cachedFunctions are the module's functions whose result depends only on
// their arguments; every other function writes to a registry or depends
// on time (a database, exception expiry, a registry's state) and must say
// +cache="never", or a second call within the engine's default TTL would
// push, sign or verify nothing.
var cachedFunctions = map[string]bool{"Build": true, "BuildGo": true, "Sbom": true}

func cacheProblems(src []byte) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var out []string
	n := 0
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil || !fd.Name.IsExported() {
			continue
		}
		n++
		never := fd.Doc != nil && strings.Contains(fd.Doc.Text(), `+cache="never"`)
		switch {
		case cachedFunctions[fd.Name.Name] && never:
			out = append(out, fd.Name.Name+" is pure, yet never cached")
		case !cachedFunctions[fd.Name.Name] && !never:
			out = append(out, fd.Name.Name+` has side effects or depends on time and lacks +cache="never"`)
		}
		if fd.Doc == nil || len(strings.TrimSpace(fd.Doc.Text())) < 20 {
			out = append(out, fd.Name.Name+" has no doc comment (dagger call --help shows it)")
		}
	}
	if n < 10 {
		out = append(out, "fewer than 10 module functions found")
	}
	return out, nil
}

// TestSideEffectsAreNeverCached, shown able to fail on a copy of main.go
// without Publish's pragma.
func TestSideEffectsAreNeverCached(t *testing.T) {
	src := mustReadFile(t, filepath.Join(root, "ci", "main.go"))
	p, err := cacheProblems(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range p {
		t.Error(x)
	}
	broken := regexp.MustCompile(`(?m)^// \+cache="never"\nfunc \(m \*Sealyard\) Publish\(`).ReplaceAll(src, []byte("func (m *Sealyard) Publish("))
	if p, _ := cacheProblems(broken); len(p) != 1 || !strings.Contains(p[0], "Publish") {
		t.Fatalf("removing Publish's pragma is not caught: %v", p)
	}
}

// TestWorkflowRunsTheModule: the workflow has a job that calls the module
// with the engine version dagger.json pins, with functions the module has,
// and passes the CI identity so the provenance matches the CLI's.
func TestWorkflowRunsTheModule(t *testing.T) {
	c := readDaggerJSON(t)
	data, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "sealyard.yml"))
	if err != nil {
		t.Fatal(err)
	}
	wf := string(data)
	if !strings.Contains(wf, "uses: dagger/dagger-for-github@") || !strings.Contains(wf, "verb: call") {
		t.Fatal("no job runs dagger call")
	}
	if !strings.Contains(wf, `version: "`+strings.TrimPrefix(c.EngineVersion, "v")+`"`) {
		t.Fatalf("the workflow's Dagger version is not dagger.json's %s", c.EngineVersion)
	}
	calls := regexp.MustCompile(`(?m)^\s+(ship|report) --`).FindAllStringSubmatch(wf, -1)
	if len(calls) == 0 {
		t.Fatal("the workflow calls neither ship nor report")
	}
	for _, fn := range calls {
		if !strings.Contains(string(mustReadFile(t, filepath.Join(root, "ci", "main.go"))), "func (m *Sealyard) "+strings.ToUpper(fn[1][:1])+fn[1][1:]+"(") {
			t.Fatalf("the workflow calls %s, which the module does not have", fn[1])
		}
	}
	for _, arg := range []string{"--ci-env", "--source-date-epoch"} {
		if !strings.Contains(wf, arg) {
			t.Errorf("the workflow's dagger call does not pass %s: its provenance would say Local", arg)
		}
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
