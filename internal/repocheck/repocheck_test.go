package repocheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/internal/testutil/schemas"
)

const root = "../.."

// shellcheck is required: `make deps` installs it, and actionlint runs
// it on every run: script.
func shellcheck(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatal("shellcheck is not installed; `make deps` installs it (Debian package shellcheck)")
	}
	return p
}

func lintWorkflows(t *testing.T, dir string) []*actionlint.Error {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, ".github", "workflows", "*.yml"))
	if len(files) == 0 {
		t.Fatalf("no workflows under %s", dir)
	}
	proj, err := actionlint.NewProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Shellcheck: shellcheck(t)})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(files, proj)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

func TestWorkflowsPassActionlint(t *testing.T) {
	abs, _ := filepath.Abs(root)
	for _, e := range lintWorkflows(t, abs) {
		t.Errorf("%s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
}

// TestActionlintCatchesMistakes shows the check can fail: a copy of the
// repository's workflow with a wrong input name and a bad permission.
func TestActionlintCatchesMistakes(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".github", "workflows"), 0o755)
	data, _ := os.ReadFile(filepath.Join(root, ".github", "workflows", "sealyard.yml"))
	action, _ := os.ReadFile(filepath.Join(root, "action.yml"))
	os.WriteFile(filepath.Join(dir, "action.yml"), action, 0o644)
	broken := strings.Replace(string(data), "gate-mode:", "gate-mod:", 1)
	broken = strings.Replace(broken, "id-token: write", "id-token: admin", 1)
	os.WriteFile(filepath.Join(dir, ".github", "workflows", "sealyard.yml"), []byte(broken), 0o644)
	errs := lintWorkflows(t, dir)
	var kinds []string
	for _, e := range errs {
		kinds = append(kinds, e.Kind)
	}
	if !strings.Contains(strings.Join(kinds, " "), "action") || !strings.Contains(strings.Join(kinds, " "), "permissions") {
		t.Fatalf("actionlint found %v in a broken workflow, want an action input and a permissions error", kinds)
	}
}

// actionMeta is what the checks read of action.yml.
type actionMeta struct {
	Name    string                       `yaml:"name"`
	Inputs  map[string]map[string]any    `yaml:"inputs"`
	Outputs map[string]map[string]string `yaml:"outputs"`
	Runs    struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID    string            `yaml:"id"`
			Name  string            `yaml:"name"`
			Run   string            `yaml:"run"`
			Shell string            `yaml:"shell"`
			Uses  string            `yaml:"uses"`
			Env   map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

var (
	inputRef = regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`)
	stepRef  = regexp.MustCompile(`steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)
	expr     = regexp.MustCompile(`\$\{\{[^}]*\}\}`)
)

// TestCompositeAction checks what actionlint does not: action.yml itself.
// Every run step names its shell and passes shellcheck, every input it
// reads is declared, and every output comes from a step that exists.
func TestCompositeAction(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionMeta
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	if a.Name == "" || a.Runs.Using != "composite" || len(a.Runs.Steps) == 0 {
		t.Fatalf("action.yml: name %q, runs.using %q, %d steps", a.Name, a.Runs.Using, len(a.Runs.Steps))
	}
	for _, m := range inputRef.FindAllStringSubmatch(string(data), -1) {
		if _, ok := a.Inputs[m[1]]; !ok {
			t.Errorf("action.yml reads inputs.%s, which it does not declare", m[1])
		}
	}
	ids := map[string]bool{}
	for i, s := range a.Runs.Steps {
		ids[s.ID] = s.ID != ""
		if s.Run == "" {
			if s.Uses == "" {
				t.Errorf("step %d (%s) neither runs nor uses", i+1, s.Name)
			}
			continue
		}
		if s.Shell != "bash" {
			t.Errorf("step %d (%s): shell %q, want bash", i+1, s.Name, s.Shell)
		}
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %d (%s) puts an expression in its script; pass it through env instead (script injection)", i+1, s.Name)
		}
		script := filepath.Join(t.TempDir(), "step.sh")
		os.WriteFile(script, []byte("#!/usr/bin/env bash\n"+expr.ReplaceAllString(s.Run, "x")), 0o644)
		if out, err := exec.Command(shellcheck(t), "-s", "bash", script).CombinedOutput(); err != nil {
			t.Errorf("step %d (%s): shellcheck:\n%s", i+1, s.Name, out)
		}
	}
	for name, o := range a.Outputs {
		m := stepRef.FindStringSubmatch(o["value"])
		if m == nil || !ids[m[1]] {
			t.Errorf("output %s = %q does not come from a step of the action", name, o["value"])
		}
	}
}

// gitlabCheck validates a CI file against GitLab's schema. The schema
// lets hidden jobs (".name") hold anything, so each job's extends is
// resolved first (GitLab deep-merges the hidden job under the job), and
// the merged job is what gets validated.
func gitlabCheck(data []byte) error {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	for name, job := range doc {
		j, ok := job.(map[string]any)
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		if base, ok := j["extends"].(string); ok {
			parent, ok := doc[base].(map[string]any)
			if !ok {
				return fmt.Errorf("job %s extends %s, which is not in the file", name, base)
			}
			merged := deepMerge(parent, j)
			delete(merged, "extends")
			doc[name] = merged
		}
	}
	js, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return schemas.Check(schemas.GitLabCI, js)
}

func deepMerge(base, over map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		bm, ok1 := out[k].(map[string]any)
		om, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = deepMerge(bm, om)
		} else {
			out[k] = v
		}
	}
	return out
}

func TestGitLabTemplateValidates(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "templates", "gitlab", "sealyard.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := gitlabCheck(data); err != nil {
		t.Fatalf("the GitLab template does not validate against gitlab-ci.json: %v", err)
	}
	// The check can fail: artifacts:when takes on_success, on_failure or
	// always, and id_tokens need an aud.
	for _, b := range [][2]string{{"when: always", "when: forever"}, {"aud: sigstore", "audience: sigstore"}} {
		broken := strings.Replace(string(data), b[0], b[1], 1)
		if broken == string(data) {
			t.Fatalf("the template has no %q to break", b[0])
		}
		if err := gitlabCheck([]byte(broken)); err == nil {
			t.Fatalf("a template with %q validated", b[1])
		}
	}
}

var (
	usesLine  = regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)(.*)$`)
	pinnedRef = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)
	versionTC = regexp.MustCompile(`^\s*#\s*v\d+(\.\d+)*\s*$`)
)

// pinProblems lists the uses: of a workflow or action that are not pinned
// to a full commit SHA with the version in a comment (a tag can be moved
// to other code; a SHA cannot), and the run: scripts with an expression
// in them (script injection: pass values through env:).
func pinProblems(name string, data []byte) []string {
	var out []string
	for _, m := range usesLine.FindAllStringSubmatch(string(data), -1) {
		ref, comment := m[1], m[2]
		if strings.HasPrefix(ref, "./") || ref == "." {
			continue
		}
		if !pinnedRef.MatchString(ref) || !versionTC.MatchString(comment) {
			out = append(out, fmt.Sprintf("%s: uses %s%s is not pinned by commit SHA with a # vX.Y.Z comment", name, ref, comment))
		}
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return append(out, fmt.Sprintf("%s: %v", name, err))
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "run" && strings.Contains(s, "${{") {
					out = append(out, fmt.Sprintf("%s: %s.run puts an expression into a script; pass it through env:", name, path))
				}
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk(name, doc)
	return out
}

// TestTemplatesHardened: every action is pinned by commit SHA, no script
// has an expression pasted into it, and the GitLab template installs a
// pinned sealyard release. The check is shown to catch each mistake.
func TestTemplatesHardened(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	files = append(files, filepath.Join(root, "action.yml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pinProblems(filepath.Base(f), data) {
			t.Error(p)
		}
	}
	for _, bad := range []string{
		"steps:\n  - uses: actions/checkout@v4\n",
		"steps:\n  - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683\n",
		"steps:\n  - run: echo \"${{ github.event.pull_request.title }}\"\n",
	} {
		if len(pinProblems("bad.yml", []byte(bad))) == 0 {
			t.Errorf("the check misses:\n%s", bad)
		}
	}
	data, err := os.ReadFile(filepath.Join(root, "templates", "gitlab", "sealyard.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var gl struct {
		Variables map[string]string `yaml:"variables"`
	}
	if err := yaml.Unmarshal(data, &gl); err != nil {
		t.Fatal(err)
	}
	if v := gl.Variables["SEALYARD_VERSION"]; !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(v) {
		t.Errorf("the GitLab template installs sealyard %q; pin a release vX.Y.Z", v)
	}
	if !strings.Contains(string(data), "@${SEALYARD_VERSION}") {
		t.Error("the GitLab template does not install the pinned SEALYARD_VERSION")
	}
	for k := range gl.Variables {
		if k == "SEALYARD_GATE_MODE" {
			t.Error("the GitLab template sets SEALYARD_GATE_MODE, which sealyard refuses in audit mode from the environment; pass --gate-mode")
		}
	}
}
