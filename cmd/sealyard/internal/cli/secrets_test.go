package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
