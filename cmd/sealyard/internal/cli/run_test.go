package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/internal/testutil/schemas"
)

// greeterCopy copies the example application to a new directory.
func greeterCopy(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "greeter")
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(repoRoot(t), "examples", "greeter"))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// fixedArgs build the greeter with its upgraded dependency and a Go
// toolchain without standard library advisories.
var fixedArgs = []string{"--go-flags", "-modfile=go.fixed.mod", "--go-env", "GOTOOLCHAIN=go1.27.3"}

// runArgs are the arguments of a sealyard run of src to repo:v1 (the
// registry credentials are added by signing.sealyard).
func (s *signing) runArgs(t *testing.T, src, repo string, extra ...string) []string {
	args := []string{"run", src, "--to", s.reg.Host + "/" + repo + ":v1", "--key", s.priv, "--skip-tlog-unsafe", "--out", t.TempDir()}
	args = append(args, dbArgs(t)...)
	return append(args, extra...)
}

// withEnv runs sealyard with the registry credentials and more environment.
func (s *signing) withEnv(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	all := map[string]string{"SOURCE_DATE_EPOCH": "1750000000"}
	for k, v := range s.env {
		all[k] = v
	}
	for k, v := range env {
		all[k] = v
	}
	return run(t, s.reg.Password, all, append(args, registryArgs(s.reg)...)...)
}

// readOutputs parses a $GITHUB_OUTPUT file (NAME=VALUE lines and heredocs).
func readOutputs(t *testing.T, p string) []map[string]string {
	t.Helper()
	var runs []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(mustRead(t, p))))
	for sc.Scan() {
		line := sc.Text()
		if k, delim, ok := strings.Cut(line, "<<"); ok {
			var val []string
			for sc.Scan() && sc.Text() != delim {
				val = append(val, sc.Text())
			}
			cur[k] = strings.Join(val, "\n")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("$GITHUB_OUTPUT line %q is neither NAME=VALUE nor a heredoc", line)
		}
		if _, seen := cur[k]; seen {
			runs = append(runs, cur)
			cur = map[string]string{}
		}
		cur[k] = v
	}
	return append(runs, cur)
}

func TestRunUnderGitHubActions(t *testing.T) {
	s := newSigning(t)
	dir := t.TempDir()
	summary, outputs := filepath.Join(dir, "step-summary.md"), filepath.Join(dir, "github-output")
	env := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": outputs,
		"GITHUB_REPOSITORY": "acme/greeter", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_REF": "refs/heads/main",
		"GITHUB_RUN_ID": "42", "GITHUB_WORKFLOW_REF": "acme/greeter/.github/workflows/sealyard.yml@refs/heads/main",
	}
	secrets := []string{s.password, s.reg.Password, keyBody(t, s.priv)}

	// The vulnerable greeter: denied, annotated, nothing pushed.
	outDeny := filepath.Join(dir, "deny")
	r := s.withEnv(t, env, s.runArgs(t, greeterCopy(t), "greeter", "--out", outDeny)...)
	if r.code != ExitDenied {
		t.Fatalf("exit %d, want %d (denied)\nstdout: %s\nstderr: %s", r.code, ExitDenied, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "::error title=SY-VULN-001") || !strings.Contains(r.stdout, "upgrade golang.org/x/text from 0.3.5 to 0.3.8: one upgrade clears 2 advisories (GO-2021-0113, GO-2022-1059)") {
		t.Fatalf("no ::error annotation naming the fix:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "nothing was pushed or signed") {
		t.Fatalf("stderr does not say nothing was pushed:\n%s", r.stderr)
	}
	got := readOutputs(t, outputs)
	if len(got) != 1 || got[0]["decision"] != "deny" || !strings.HasPrefix(got[0]["digest"], "sha256:") || got[0]["pushed"] != "" {
		t.Fatalf("$GITHUB_OUTPUT after a denied run: %v", got)
	}
	if s := string(mustRead(t, summary)); !strings.Contains(s, "denied") || !strings.Contains(s, "GO-2021-0113") {
		t.Fatalf("$GITHUB_STEP_SUMMARY after a denied run:\n%s", s)
	}
	checkNoSecrets(t, secrets, outDeny, r)

	// The fixed greeter: allowed, pushed, signed, tagged.
	outAllow := filepath.Join(dir, "allow")
	r = s.withEnv(t, env, append(s.runArgs(t, greeterCopy(t), "greeter", "--out", outAllow), fixedArgs...)...).mustSucceed(t)
	got = readOutputs(t, outputs)
	if len(got) != 2 || got[1]["decision"] != "allow" || got[1]["pushed"] != s.reg.Host+"/greeter@"+got[1]["digest"] {
		t.Fatalf("$GITHUB_OUTPUT after an allowed run: %v", got)
	}
	if want := s.reg.Host + "/greeter:v1@" + got[1]["digest"]; strings.TrimSpace(r.stdout) != want {
		t.Fatalf("stdout %q, want %q", r.stdout, want)
	}
	if s := string(mustRead(t, summary)); !strings.Contains(s, "allowed") {
		t.Fatalf("$GITHUB_STEP_SUMMARY after an allowed run:\n%s", s)
	}
	checkNoSecrets(t, secrets, outAllow, r)

	// The provenance names the workflow run the environment described.
	v := s.sealyard(t, "verify", s.reg.Host+"/greeter:v1", "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom,vuln,provenance,decision", "-o", "json").mustSucceed(t)
	if !strings.Contains(v.stdout, got[1]["digest"]) {
		t.Fatalf("verify: %s", v.stdout)
	}
	// The attested decision replays: its digests are those of the files
	// written, and the gate recomputes it byte for byte.
	v = s.sealyard(t, "verify", s.reg.Host+"/greeter:v1", "--key", s.pub, "--skip-tlog-unsafe", "--gate").mustSucceed(t)
	flat := strings.Join(strings.Fields(v.stdout), " ")
	for _, want := range []string{"DECISION PASSED (enforce mode)", "decision " + sha256File(t, filepath.Join(outAllow, "decision.json")), "input " + sha256File(t, filepath.Join(outAllow, "policy-input.json"))} {
		if !strings.Contains(flat, want) {
			t.Fatalf("verify --gate output lacks %q:\n%s", want, v.stdout)
		}
	}
	// Other policy settings do not replay the verdict: exit 1, saying so.
	data := filepath.Join(dir, "stricter.yaml")
	os.WriteFile(data, []byte("settings:\n  user:\n    root: warn\n"), 0o644)
	r = s.sealyard(t, "verify", s.reg.Host+"/greeter:v1", "--key", s.pub, "--skip-tlog-unsafe", "--gate", "--policy-data", data)
	if r.code != ExitDenied || !strings.Contains(r.stderr, "policy bundle") {
		t.Fatalf("verify --gate under other policy settings: exit %d %q", r.code, r.stderr)
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	sum := sha256.Sum256(mustRead(t, p))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestRunUnderGitLabCI(t *testing.T) {
	s := newSigning(t)
	project := t.TempDir()
	// GitLab hands the job registry credentials for $CI_REGISTRY.
	env := map[string]string{
		"GITLAB_CI": "true", "CI_PROJECT_DIR": project, "CI_PROJECT_URL": "https://gitlab.example.com/acme/greeter",
		"CI_COMMIT_SHA": "89abcdef0123456789abcdef0123456789abcdef", "CI_COMMIT_REF_NAME": "main",
		"CI_JOB_URL": "https://gitlab.example.com/acme/greeter/-/jobs/7", "CI_SERVER_URL": "https://gitlab.example.com",
		"CI_REGISTRY": s.reg.Host, "CI_REGISTRY_USER": s.reg.Username, "CI_REGISTRY_PASSWORD": s.reg.Password,
		"COSIGN_PASSWORD": s.password, "SOURCE_DATE_EPOCH": "1750000000",
	}
	// No --out: in GitLab CI the reports go to $CI_PROJECT_DIR/sealyard-out.
	args := []string{"run", greeterCopy(t), "--to", s.reg.Host + "/greeter:v1", "--key", s.priv, "--skip-tlog-unsafe", "--ca-file", s.reg.CAFile}
	args = append(append(args, dbArgs(t)...), fixedArgs...)
	r := run(t, "", env, args...).mustSucceed(t)

	// Every report the template hands to artifacts:reports exists where it
	// looks, and validates.
	var tmpl struct {
		Sealyard struct {
			Artifacts struct {
				Reports map[string]any `yaml:"reports"`
			} `yaml:"artifacts"`
		} `yaml:".sealyard"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(repoRoot(t), "templates", "gitlab", "sealyard.gitlab-ci.yml")), &tmpl); err != nil {
		t.Fatal(err)
	}
	schemaOf := map[string]string{
		"container_scanning":  schemas.GitLabContainerScanning,
		"dependency_scanning": schemas.GitLabDependencyScanning,
		"cyclonedx":           schemas.CycloneDX,
	}
	if len(tmpl.Sealyard.Artifacts.Reports) != len(schemaOf) {
		t.Fatalf("the template's reports %v, want %d kinds", tmpl.Sealyard.Artifacts.Reports, len(schemaOf))
	}
	for kind, paths := range tmpl.Sealyard.Artifacts.Reports {
		var globs []string
		switch p := paths.(type) {
		case string:
			globs = []string{p}
		case []any:
			for _, x := range p {
				globs = append(globs, x.(string))
			}
		}
		for _, g := range globs {
			m, _ := filepath.Glob(filepath.Join(project, g))
			if len(m) == 0 {
				t.Fatalf("the template's %s report %s matches nothing in the project directory", kind, g)
			}
			for _, f := range m {
				schemas.Validate(t, schemaOf[kind], mustRead(t, f))
			}
		}
	}
	checkNoSecrets(t, []string{s.password, s.reg.Password, keyBody(t, s.priv)}, filepath.Join(project, "sealyard-out"), r)
}

func TestRunConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sealyard.yaml")
	os.WriteFile(cfg, []byte("to: file.example/app:v1\nout: from-file\ngate-mode: audit\ntag: [a, b]\ndb-max-age: 24h\n"), 0o644)
	env := map[string]string{"SEALYARD_OUT": "from-env", "SEALYARD_GATE_MODE": "enforce"}
	s := &streams{getenv: func(k string) string { return env[k] }}
	cmd := newRunCmd(s)
	if err := cmd.ParseFlags([]string{"--gate-mode", "audit", "--config", cfg}); err != nil {
		t.Fatal(err)
	}
	if err := applySettings(cmd, s, cfg, true); err != nil {
		t.Fatal(err)
	}
	for flag, want := range map[string]string{
		"gate-mode":  "audit",                   // flag beats env and file
		"out":        "from-env",                // env beats file
		"to":         "file.example/app:v1",     // file beats default
		"tag":        "[a,b]",                   // lists from the file
		"db-max-age": (24 * time.Hour).String(), // typed values
		"progress":   "auto",                    // default
	} {
		if got := cmd.Flags().Lookup(flag).Value.String(); got != want {
			t.Errorf("%s = %q, want %q", flag, got, want)
		}
	}
}

// With --allow-unsafe-settings on the command line, a config file may
// set audit mode; and the run names it among the unsafe settings.
func TestRunUnsafeSettingsAllowedExplicitly(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sealyard.yaml")
	os.WriteFile(cfg, []byte("to: file.example/app:v1\ngate-mode: audit\nskip-tlog-unsafe: true\n"), 0o644)
	s := &streams{getenv: func(string) string { return "" }}
	cmd := newRunCmd(s)
	if err := cmd.ParseFlags([]string{"--config", cfg, "--allow-unsafe-settings", "--allow-http-registry", "r.lan:5000"}); err != nil {
		t.Fatal(err)
	}
	if err := applySettings(cmd, s, cfg, true); err != nil {
		t.Fatal(err)
	}
	f := cmd.Flags()
	if f.Lookup("gate-mode").Value.String() != "audit" || f.Lookup("skip-tlog-unsafe").Value.String() != "true" {
		t.Fatal("the explicitly allowed settings were not applied")
	}
}

func TestRunConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) string {
		p := filepath.Join(t.TempDir(), "sealyard.yaml")
		os.WriteFile(p, []byte(content), 0o644)
		return p
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--config", write("to: [\n")}, nil, "not YAML"},
		{[]string{"--config", write("to: r.example/a:v1\nsigning-key: x\n")}, nil, "unknown key(s) signing-key"},
		{[]string{"--config", write("to:\n  nested: value\n")}, nil, "takes a value, not a mapping"},
		{[]string{"--config", write("to: r.example/a:v1\ndb-max-age: soon\n")}, nil, "db-max-age"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, nil, "config file"},
		{[]string{"--to", "r.example/a:v1"}, map[string]string{"SEALYARD_GATE_MODE": "lenient"}, `--gate-mode "lenient": want enforce or audit`},
		{[]string{"--to", "r.example/a:v1"}, map[string]string{"SEALYARD_RETRIES": "many"}, "SEALYARD_RETRIES"},
		{nil, nil, "give --to"},
		// Settings that weaken the checks never come silently from a
		// committed file or the environment.
		{[]string{"--to", "r.example/a:v1", "--config", write("skip-tlog-unsafe: true\n")}, nil, "sets skip-tlog-unsafe, which weakens sealyard's checks"},
		{[]string{"--to", "r.example/a:v1", "--config", write("rekor-url: https://rekor.example\n")}, nil, "sets rekor-url, which weakens"},
		{[]string{"--to", "r.example/a:v1", "--config", write("fulcio-url: https://fulcio.example\n")}, nil, "sets fulcio-url, which weakens"},
		{[]string{"--to", "r.example/a:v1", "--config", write("allow-http-registry: [r.example]\n")}, nil, "sets allow-http-registry, which weakens"},
		{[]string{"--to", "r.example/a:v1", "--config", write("allow-unsafe-settings: true\n")}, nil, "counts only on the command line"},
		{[]string{"--to", "r.example/a:v1"}, map[string]string{"SEALYARD_GATE_MODE": "audit"}, "SEALYARD_GATE_MODE sets gate-mode, which weakens"},
		{[]string{"--to", "r.example/a:v1"}, map[string]string{"SEALYARD_INSECURE_SKIP_TLS_VERIFY": "true"}, "SEALYARD_INSECURE_SKIP_TLS_VERIFY sets insecure-skip-tls-verify"},
		{[]string{"--to", "r.example/a:v1"}, map[string]string{"SEALYARD_ALLOW_UNSAFE_SETTINGS": "true", "SEALYARD_SKIP_TLOG_UNSAFE": "1"}, "counts only on the command line"},
		{[]string{"--to", "r.example/a:v1", "--insecure"}, nil, "--insecure is gone"},
	} {
		out := filepath.Join(t.TempDir(), "out")
		r := run(t, "", tc.env, append([]string{"run", greeterCopy(t), "--out", out}, tc.args...)...)
		if r.code != ExitError || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("run %v (env %v): exit %d, stderr %q; want exit 2 saying %q", tc.args, tc.env, r.code, r.stderr, tc.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("run %v wrote %s before failing validation", tc.args, out)
		}
	}
}

// TestRunCrashLeavesNoTag kills sealyard run (SIGKILL) while it stores the
// signature of the image it pushed: the tag has not moved. A rerun signs
// once and moves the tag.
func TestRunCrashLeavesNoTag(t *testing.T) {
	s := newSigning(t)
	p := newBlockingProxy(t, s)
	src, out := greeterCopy(t), t.TempDir()
	args := append([]string{"run", src, "--to", p.host() + "/crashrun:v1", "--key", s.priv, "--skip-tlog-unsafe", "--progress", "plain",
		"--out", out, "--ca-file", s.reg.CAFile, "--ca-file", p.caFile, "--username", s.reg.Username, "--password-stdin"},
		append(dbArgs(t), fixedArgs...)...)
	logs := killWhileStoringSignature(t, s, p, 5*time.Minute, args...)
	if !strings.Contains(logs, "push ") {
		t.Fatalf("the run died before pushing:\n%s", logs)
	}
	// The stages finished before the kill are on record: audit.jsonl is
	// appended and flushed as each stage ends.
	done := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(mustRead(t, filepath.Join(out, "audit.jsonl")))), "\n") {
		var e struct{ Stage, State string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if e.State == "done" {
			done[strings.Fields(e.Stage)[0]] = true
		}
	}
	for _, st := range []string{"source", "sbom", "scan", "gate", "push"} {
		if !done[st] {
			t.Errorf("the killed run's audit.jsonl lacks the finished stage %s (has %v)", st, done)
		}
	}
	repo, _ := name.NewRepository(s.reg.Host + "/crashrun")
	tags, err := remote.List(repo, s.reg.Client(t).RemoteOptions(context.Background())...)
	if err != nil && !strings.Contains(err.Error(), "NAME_UNKNOWN") {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if tag == "v1" {
			t.Fatalf("the tag moved before the image was signed (tags %v)", tags)
		}
	}
	r := s.withEnv(t, nil, append(s.runArgs(t, src, "crashrun"), fixedArgs...)...).mustSucceed(t)
	ref := strings.Replace(strings.TrimSpace(r.stdout), ":v1@", "@", 1)
	if n := signatureCount(t, s, ref); n != 1 {
		t.Fatalf("%d signatures after the rerun, want 1", n)
	}
	s.sealyard(t, "verify", s.reg.Host+"/crashrun:v1", "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom,vuln,provenance,decision").mustSucceed(t)
}

func keyBody(t *testing.T, priv string) string {
	body := strings.TrimSpace(strings.Split(string(mustRead(t, priv)), "-----")[2])
	return body[:40]
}

// checkNoSecrets greps a command's output and every file it wrote.
func checkNoSecrets(t *testing.T, secrets []string, outDir string, r result) {
	t.Helper()
	texts := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
	entries, err := os.ReadDir(outDir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no reports in %s: %v", outDir, err)
	}
	for _, e := range entries {
		texts[e.Name()] = string(mustRead(t, filepath.Join(outDir, e.Name())))
	}
	for where, text := range texts {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Fatalf("a secret appears in %s", where)
			}
		}
	}
	// audit.jsonl is JSON lines; the decision is JSON.
	for _, f := range []string{"decision.json", "findings.json"} {
		if !json.Valid([]byte(texts[f])) {
			t.Fatalf("%s is not JSON", f)
		}
	}
}

// TestDockerfileWithoutEngine: no Dagger engine runs here, and both ways
// into a Dockerfile build say so, with exit code 2 and nothing written.
func TestDockerfileWithoutEngine(t *testing.T) {
	if h := run(t, "", nil, "build", "--help"); !strings.Contains(h.stdout, "Dockerfile builds are engine-only") {
		t.Fatalf("sealyard build --help does not say Dockerfile builds need an engine:\n%s", h.stdout)
	}
	t.Setenv("PATH", t.TempDir()+string(os.PathListSeparator)+os.Getenv("PATH"))
	if _, err := exec.LookPath("dagger"); err == nil {
		t.Fatal("a dagger CLI is on PATH; this test needs a machine without an engine")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY . /\n"), 0o644)
	out := filepath.Join(t.TempDir(), "image.tar")
	r := run(t, "", nil, "build", "--engine", "dagger", dir, "-o", "oci-archive:"+out)
	if r.code != ExitError || !strings.Contains(r.stderr, "no Dagger engine is reachable") || !strings.Contains(r.stderr, "_EXPERIMENTAL_DAGGER_RUNNER_HOST") {
		t.Fatalf("build --engine dagger: exit %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an image was written without an engine")
	}
	r = run(t, "", nil, "build", "--engine", "docker", dir, "-o", "oci-archive:"+out)
	if r.code != ExitError || !strings.Contains(r.stderr, "want local") {
		t.Fatalf("build --engine docker: exit %d %q", r.code, r.stderr)
	}
	prefix := filepath.Join(t.TempDir(), "cosign")
	run(t, "", map[string]string{"COSIGN_PASSWORD": "x"}, "keygen", "--output-key-prefix", prefix).mustSucceed(t)
	r = run(t, "", map[string]string{"COSIGN_PASSWORD": "x"}, append([]string{"run", dir, "--to", "127.0.0.1:1/app:v1", "--key", prefix + ".key", "--out", t.TempDir()}, dbArgs(t)...)...)
	if r.code != ExitError || !strings.Contains(r.stderr, "built by a Dagger engine") {
		t.Fatalf("run on a Dockerfile: exit %d %q", r.code, r.stderr)
	}
}

// sealyard run --targets: several images, two at a time, each with its
// reports and a combined summary; a target that fails is exit 2.
func TestRunTargetsCLI(t *testing.T) {
	s := newSigning(t)
	g := newGateFixture(t)
	out := t.TempDir()
	targets := g.write(t, "targets", fmt.Sprintf("# two images\n%s %s/many-a:v1\n%s %s/many-b:v1\n", g.ref, s.reg.Host, g.ref, s.reg.Host))
	args := append([]string{"run", "--targets", targets, "--jobs", "2", "--key", s.priv, "--skip-tlog-unsafe", "--gate-mode", "audit", "--out", out, "--progress", "plain"}, dbArgs(t)...)
	r := s.sealyard(t, args...).mustSucceed(t)
	if strings.Count(r.stdout, "@sha256:") != 2 {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	if sum := string(mustRead(t, filepath.Join(out, "summary.md"))); !strings.Contains(sum, "2 images, 2 allowed, 0 denied, 0 failed") {
		t.Fatalf("summary:\n%s", sum)
	}
	bad := g.write(t, "bad-targets", fmt.Sprintf("%s %s/many-c:v1\noci-archive:/nonexistent.tar %s/many-d:v1\n", g.ref, s.reg.Host, s.reg.Host))
	args[2] = bad
	if r := s.sealyard(t, args...); r.code != ExitError || !strings.Contains(r.stderr, "1 of 2 images failed") {
		t.Fatalf("a failing target: exit %d %q", r.code, r.stderr)
	}
	if r := s.sealyard(t, "run", "--targets", targets, "--to", s.reg.Host+"/x:v1", "--key", s.priv); r.code != ExitError || !strings.Contains(r.stderr, "not both") {
		t.Fatalf("--targets with --to: exit %d %q", r.code, r.stderr)
	}
}
