package repocheck

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
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
	Include []string `json:"include"`
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

var requireDagger = regexp.MustCompile(`(?m)^\s*dagger\.io/dagger (v\S+)`)

// TestDaggerJSON checks the module configuration against what the module
// is: its name, SDK, source directory, and an engine version that is the
// version of dagger.io/dagger both Go modules pin.
func TestDaggerJSON(t *testing.T) {
	c := readDaggerJSON(t)
	if c.Name != "sealyard" || c.SDK.Source != "go" || c.Source != "ci" {
		t.Fatalf("dagger.json: name %q, sdk %q, source %q", c.Name, c.SDK.Source, c.Source)
	}
	for _, mod := range []string{"go.mod", "ci/go.mod"} {
		data, err := os.ReadFile(filepath.Join(root, mod))
		if err != nil {
			t.Fatal(err)
		}
		m := requireDagger.FindSubmatch(data)
		if m == nil || string(m[1]) != c.EngineVersion {
			t.Fatalf("%s pins dagger.io/dagger %s; dagger.json pins engine %s", mod, m, c.EngineVersion)
		}
	}
	ciMod, _ := os.ReadFile(filepath.Join(root, "ci", "go.mod"))
	if !strings.Contains(string(ciMod), "replace github.com/sealyard/sealyard => ../") {
		t.Fatal("ci/go.mod does not build against this repository (replace github.com/sealyard/sealyard => ../)")
	}
	for _, f := range []string{"main.go", "go.sum"} {
		if _, err := os.Stat(filepath.Join(root, c.Source, f)); err != nil {
			t.Fatalf("the module source lacks %s: %v", f, err)
		}
	}
}

// included says whether path (relative to dagger.json) is uploaded: in
// the module source, or matched by an include pattern and not excluded by
// a later "!" pattern.
func included(c daggerConfig, path string) bool {
	if strings.HasPrefix(path, c.Source+"/") {
		return true
	}
	in := false
	for _, p := range c.Include {
		neg := strings.HasPrefix(p, "!")
		ok, _ := doublestar.Match(strings.TrimPrefix(p, "!"), path)
		if ok {
			in = !neg
		}
	}
	return in
}

// moduleFiles lists, relative to the repository root, every file of this
// repository that the Dagger module compiles or embeds.
func moduleFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "github.com/sealyard/sealyard"}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}
{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}
{{end}}{{end}}{{end}}`, "./...")
	cmd.Dir = filepath.Join(root, "ci")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list in ci/: %v\n%s", err, out)
	}
	abs, _ := filepath.Abs(root)
	var files []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if rel, err := filepath.Rel(abs, line); err == nil && line != "" {
			files = append(files, rel)
		}
	}
	if len(files) < 20 {
		t.Fatalf("only %d files found for the module: %v", len(files), files)
	}
	return append(files, "go.mod", "go.sum")
}

// TestDaggerIncludeCoversTheModule checks that dagger.json uploads every
// file the module builds from (and, to show the check can fail, that
// dropping a pattern is caught), and that tests are left behind.
func TestDaggerIncludeCoversTheModule(t *testing.T) {
	c := readDaggerJSON(t)
	files := moduleFiles(t)
	for _, f := range files {
		if !included(c, f) {
			t.Errorf("dagger.json does not upload %s, which the module builds from", f)
		}
	}
	for _, f := range []string{"pipelines/run/run_test.go", "cmd/sealyard/main.go", "internal/testutil/schemas/schemas.go", "sealyard-out/summary.md"} {
		if included(c, f) {
			t.Errorf("dagger.json uploads %s, which the module does not need", f)
		}
	}
	broken := c
	broken.Include = nil
	for _, p := range c.Include {
		if p != "internal/atomicfile/**" {
			broken.Include = append(broken.Include, p)
		}
	}
	missing := 0
	for _, f := range files {
		if !included(broken, f) {
			missing++
		}
	}
	if missing == 0 {
		t.Fatal("without internal/atomicfile/** the include list still covers the module: the check cannot fail")
	}
}

// TestWorkflowRunsTheModule: the workflow has a job that calls the module
// with the engine version dagger.json pins.
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
	for _, fn := range regexp.MustCompile(`(?m)^\s+(ship|report) --`).FindAllStringSubmatch(wf, -1) {
		if !strings.Contains(string(mustReadFile(t, filepath.Join(root, "ci", "main.go"))), "func (m *Sealyard) "+strings.ToUpper(fn[1][:1])+fn[1][1:]+"(") {
			t.Fatalf("the workflow calls %s, which the module does not have", fn[1])
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
