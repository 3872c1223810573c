package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/internal/testutil/plant"
	"github.com/sealyard/sealyard/internal/testutil/schemas"
	"github.com/sealyard/sealyard/pipelines/facts"
)

// sealyard secrets on an image whose token sits in a file a later layer
// deletes: found (exit 1), placed in its layer with status deleted, and
// the token is in no output: stdout, stderr, the JSON and SARIF files.
func TestSecretsCommandImage(t *testing.T) {
	token, key := plant.GitHubToken(t), plant.PrivateKeyPEM(t)
	ref := imageOf(t, [][]byte{
		plant.Layer(t, plant.Entry{Name: "etc/", Type: '5'}, plant.Entry{Name: "etc/deploy.env", Body: "A=1\nGITHUB_TOKEN=" + token + "\n"}, plant.Entry{Name: "srv/tls.key", Body: key}),
		plant.Layer(t, plant.Entry{Name: "etc/.wh.deploy.env"}),
	}, nil)
	dir := t.TempDir()
	jsonOut, sarifOut := filepath.Join(dir, "secrets.json"), filepath.Join(dir, "secrets.sarif")
	r := run(t, "", nil, "secrets", ref, "-o", "table", "-o", "json="+jsonOut, "-o", "sarif="+sarifOut)
	if r.code != ExitDenied || !strings.Contains(r.stderr, "2 credential(s) found") {
		t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "/etc/deploy.env:github-pat:2") || !strings.Contains(r.stdout, "deleted") {
		t.Fatalf("the table does not place the deleted token:\n%s", r.stdout)
	}
	js, sarif := mustRead(t, jsonOut), mustRead(t, sarifOut)
	schemas.Validate(t, schemas.SealyardSecrets, js)
	schemas.Validate(t, schemas.SARIF, sarif)
	var rep facts.SecretsReport
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 2 || rep.Findings[0].File != "/etc/deploy.env" || rep.Findings[0].Status != facts.SecretDeleted || rep.Findings[0].Layer.Index != 0 {
		t.Fatalf("findings %+v", rep.Findings)
	}
	for name, b := range map[string][]byte{"stdout": []byte(r.stdout), "stderr": []byte(r.stderr)} {
		plant.AssertAbsent(t, name, b, token, key)
	}
	plant.AssertAbsentInDir(t, dir, token, key)

	// Allow-listed by fingerprint (a .gitleaksignore) and by rule: exit 0,
	// both still reported as allowed.
	ignore := filepath.Join(dir, ".gitleaksignore")
	os.WriteFile(ignore, []byte("# reviewed\n/etc/deploy.env:github-pat:2\n"), 0o644)
	allow := filepath.Join(dir, "allow.yaml")
	os.WriteFile(allow, []byte("rules: [private-key]\n"), 0o644)
	r = run(t, "", nil, "secrets", ref, "--allow", ignore, "--allow", allow, "-o", "json")
	if r.code != 0 || strings.Count(r.stdout, `"allowed"`) != 2 {
		t.Fatalf("exit %d, want 0 with both findings allowed\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

// As a pre-commit hook: files and directories of a source tree, before
// anything is built.
func TestSecretsCommandTree(t *testing.T) {
	dir := t.TempDir()
	token := plant.AWSKeyID(t)
	os.MkdirAll(filepath.Join(dir, "cfg"), 0o755)
	os.WriteFile(filepath.Join(dir, "cfg", "prod.ini"), []byte("[aws]\naws_access_key_id = "+token+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644)
	r := run(t, "", nil, "secrets", filepath.Join(dir, "main.go"), filepath.Join(dir, "cfg"))
	if r.code != ExitDenied || !strings.Contains(r.stdout, "aws-access-token") || !strings.Contains(r.stdout, "prod.ini") {
		t.Fatalf("exit %d, want 1 naming the key\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	plant.AssertAbsent(t, "the output", []byte(r.stdout+r.stderr), token)
	if r := run(t, "", nil, "secrets", filepath.Join(dir, "main.go")); r.code != 0 {
		t.Fatalf("a clean file: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A careless colleague pastes a token into the allow-list instead of its
// fingerprint: the error says the file is wrong, without the token.
func TestSecretsAllowListErrorsHoldNoSecret(t *testing.T) {
	token := plant.GitHubToken(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"scalar.yaml":  token + "\n",
		"field.yaml":   "token: " + token + "\n",
		"wrong.yaml":   "rules: " + token + "\n",
		"badglob.yaml": "paths: ['" + token + "[']\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		r := run(t, "", nil, "secrets", dir, "--allow", p)
		if r.code != ExitError || !strings.Contains(r.stderr, name) {
			t.Errorf("%s: exit %d, want 2 naming the file\n%s", name, r.code, r.stderr)
		}
		plant.AssertAbsent(t, name+" error", []byte(r.stdout+r.stderr), token)
	}
}

// The hooks in .pre-commit-hooks.yaml, run by pre-commit itself in a new
// repository: the installed-binary hook (the source-built one runs the
// same entry after a go install of this module, minutes on a cold cache,
// so it is not run here) fails a commit that adds a token, without
// printing it, and passes one that does not.
func TestPreCommitHook(t *testing.T) {
	bin := sealyardBinary(t)
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	git("config", "user.email", "dev@example.com")
	git("config", "user.name", "dev")
	hooks, err := os.ReadFile(filepath.Join(repoRoot(t), ".pre-commit-hooks.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// A local repo entry takes the hooks' definitions as they are written.
	var defs []map[string]any
	if err := yaml.Unmarshal(hooks, &defs); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, d := range defs {
		ids[d["id"].(string)] = true
	}
	if !ids["sealyard-secrets"] || !ids["sealyard-secrets-system"] {
		t.Fatalf("hooks %v", ids)
	}
	var local []map[string]any
	for _, d := range defs {
		if d["id"] == "sealyard-secrets-system" {
			local = append(local, d)
		}
	}
	cfg, _ := yaml.Marshal(map[string]any{"repos": []any{map[string]any{"repo": "local", "hooks": local}}})
	os.WriteFile(filepath.Join(repo, ".pre-commit-config.yaml"), cfg, 0o644)
	os.WriteFile(filepath.Join(repo, "README"), []byte("hello\n"), 0o644)
	git("add", ".")
	env := append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "PRE_COMMIT_HOME="+t.TempDir())
	preCommit := func() (int, string) {
		cmd := exec.Command("pre-commit", "run")
		cmd.Dir, cmd.Env = repo, env
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("pre-commit: %v\n%s", err, out)
		}
		return code, string(out)
	}
	if code, out := preCommit(); code != 0 {
		t.Fatalf("a clean commit: exit %d\n%s", code, out)
	}
	token := plant.GitHubToken(t)
	os.WriteFile(filepath.Join(repo, "deploy.env"), []byte("TOKEN="+token+"\n"), 0o644)
	git("add", "deploy.env")
	code, out := preCommit()
	if code == 0 || !strings.Contains(out, "deploy.env:github-pat:1") {
		t.Fatalf("a commit adding a token: exit %d\n%s", code, out)
	}
	plant.AssertAbsent(t, "pre-commit's output", []byte(out), token)
}

// sealyard gate IMAGE reads every layer too: the deleted token denies
// (SY-SEC-003) and an allow-list entry for its fingerprint lifts exactly
// that violation.
func TestGateJudgesSecrets(t *testing.T) {
	token := plant.GitHubToken(t)
	ref := imageOf(t, [][]byte{
		plant.Layer(t, plant.Entry{Name: "etc/deploy.env", Body: "GITHUB_TOKEN=" + token + "\n"}),
		plant.Layer(t, plant.Entry{Name: "etc/.wh.deploy.env"}),
	}, nil)
	r := run(t, "", nil, append([]string{"gate", ref, "-o", "json"}, dbArgs(t)...)...)
	if r.code != ExitDenied || !strings.Contains(r.stdout, "SY-SEC-003") || !strings.Contains(r.stdout, "deleted by a later layer") {
		t.Fatalf("exit %d, want 1 with SY-SEC-003\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	plant.AssertAbsent(t, "the decision", []byte(r.stdout+r.stderr), token)
	allow := filepath.Join(t.TempDir(), "allow.yaml")
	os.WriteFile(allow, []byte("fingerprints: [\"/etc/deploy.env:github-pat:1\"]\n"), 0o644)
	r = run(t, "", nil, append([]string{"gate", ref, "-o", "json", "--secrets-allow", allow}, dbArgs(t)...)...)
	if r.code == ExitError || strings.Contains(r.stdout, "SY-SEC-003") || !strings.Contains(r.stdout, `"decision"`) {
		t.Fatalf("exit %d: the allowed fingerprint still denies\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
