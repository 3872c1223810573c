//go:build docker

package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/internal/testutil/plant"
)

// TestActionWithReleasedImage runs the GitHub action's steps as a runner
// does, with the image input: sealyard is its image (the binary alone on
// scratch, as make release builds it), run by the local Docker daemon.
// The database comes from a signed artifact in the registry, verified
// against its transparency-log entry. An image the gate denies fails the
// step, and nothing of it reaches the registry; an allowed one is pushed,
// signed and attested, and verifies. No password is in any file the job
// wrote or in what it printed.
func TestActionWithReleasedImage(t *testing.T) {
	s := newSigning(t)
	job := newActionJob(t)
	ws, runnerTemp := job.ws, job.runnerTemp

	// sealyard's image, pulled by digest into Docker with the job's
	// docker login; the database artifact, logged.
	img := sealyardImage(t, s)
	cmd := exec.Command("docker", "--config", filepath.Join(s.dir, "docker"), "pull", "-q", img)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker pull: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", img).Run() })
	dbRef, rootFile := loggedDBArtifact(t, s)

	// The workspace: the files the job's inputs name. sealyard inside the
	// image sees only the workspace and the runner's temp directory.
	put := func(name string, data []byte) string {
		p := filepath.Join(ws, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile := put("registry-ca.pem", mustRead(t, s.reg.CAFile))
	trustedRoot := put("trusted_root.json", mustRead(t, rootFile))
	key := put("cosign.key", mustRead(t, s.priv))
	pub := put("cosign.pub", mustRead(t, s.pub))
	exceptions := put("exceptions.yaml", []byte("exceptions:\n  - package: stdlib\n    reason: sealyard's test image is built with the machine's Go\n    owner: action-test\n    expires: "+time.Now().AddDate(0, 0, 30).Format("2006-01-02")+"\n"))

	job.env = append(job.env,
		"COSIGN_PASSWORD="+s.password,
		// A private registry's CA and the log's trusted root, as
		// settings in the job's environment.
		"SEALYARD_CA_FILE="+caFile,
		"SEALYARD_TRUSTED_ROOT="+trustedRoot,
	)
	job.inputs = map[string]string{
		"image":             img,
		"db":                dbRef,
		"db-key":            pub,
		"key":               key,
		"registry-username": s.reg.Username,
		"registry-password": s.reg.Password,
	}

	// Denied: the gate fixture has advisories the database knows. The
	// step fails, and the repository stays empty: no image, no tag, no
	// signature.
	denied := s.push(t, "fixture")
	job.inputs["source"] = denied
	job.inputs["to"] = s.reg.Host + "/denied:v1"
	job.inputs["args"] = "--skip-tlog-unsafe --db-max-age 0"
	if job.run() {
		t.Fatalf("the job passed on a denied image:\n%s", job.log.String())
	}
	if out := job.outputs["run"]; out["decision"] != "deny" || out["pushed"] != "" || !strings.HasPrefix(out["digest"], "sha256:") {
		t.Fatalf("the run step's outputs on a denied image: %v\n%s", out, job.log.String())
	}
	if tags := s.reg.Tags(t, "denied"); len(tags) != 0 {
		t.Fatalf("the denied image's repository has tags %v", tags)
	}

	// Allowed: sealyard's own image, its standard-library advisories
	// waived. Pushed, signed and attested; sealyard verify on the host
	// accepts it with the database artifact recorded in the scan.
	job.inputs["source"] = img
	job.inputs["to"] = s.reg.Host + "/allowed:v1"
	job.inputs["args"] = "--skip-tlog-unsafe --db-max-age 0 --exceptions " + exceptions
	if !job.run() {
		t.Fatalf("the job failed on an allowed image:\n%s", job.log.String())
	}
	out := job.outputs["run"]
	if out["decision"] != "allow" || out["pushed"] != s.reg.Host+"/allowed@"+out["digest"] {
		t.Fatalf("the run step's outputs: %v\n%s", out, job.log.String())
	}
	if !s.reg.HasTag(t, "allowed", "v1") {
		t.Fatal("the allowed image's tag is not in the registry") // the tag listing the denied case relies on
	}
	s.sealyard(t, "verify", s.reg.Host+"/allowed:v1", "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom,vuln,provenance,decision").mustSucceed(t)
	var findings struct{ DB struct{ Artifact string } }
	json.Unmarshal(mustRead(t, filepath.Join(ws, "sealyard-out", "findings.json")), &findings)
	if findings.DB.Artifact != dbRef {
		t.Errorf("the findings in the workspace record the database artifact %q, want %s", findings.DB.Artifact, dbRef)
	}
	// The image is the binary alone, without /etc/ssl: it reaches public
	// registries and Sigstore with the root certificates compiled in,
	// which its SBOM lists.
	sboms, _ := filepath.Glob(filepath.Join(ws, "sealyard-out", "*.cdx.json"))
	if len(sboms) == 0 {
		t.Error("no CycloneDX SBOM in the workspace")
	}
	for _, f := range sboms {
		if !bytes.Contains(mustRead(t, f), []byte("pkg:golang/golang.org/x/crypto/x509roots/fallback@")) {
			t.Errorf("%s: sealyard's image does not carry the fallback root certificates", filepath.Base(f))
		}
	}
	for _, secret := range []string{s.reg.Password, s.password} {
		if strings.Contains(job.log.String(), secret) {
			t.Error("a password is in the job's log")
		}
	}
	plant.AssertAbsentInDir(t, ws, s.reg.Password, s.password)
	plant.AssertAbsentInDir(t, runnerTemp, s.reg.Password, s.password)
}

// actionJob runs action.yml's steps the way a GitHub runner runs a
// composite action: each step's if evaluated, its env expressions
// replaced, its script run by bash -eo pipefail in the workspace, and the
// runner's files (GITHUB_PATH, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) read
// back between steps. Steps that use another action (setup-go, the cache)
// are not run. As on a runner, the steps run as an ordinary user in the
// docker group (uid 1001 when the test runs as root), whose home,
// workspace and temp directory are its own.
type actionJob struct {
	t              *testing.T
	ws, runnerTemp string
	env            []string
	inputs         map[string]string
	outputs        map[string]map[string]string
	log            bytes.Buffer
	cred           *syscall.Credential
	dirs           []string // workspace, temp, home: the runner user's
}

const runnerUID = 1001

func newActionJob(t *testing.T) *actionJob {
	t.Helper()
	j := &actionJob{t: t}
	var dirs []string
	for _, name := range []string{"work", "temp", "home"} {
		d, err := os.MkdirTemp("", "sealyard-runner-"+name+"-*")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dirs = append(dirs, d)
	}
	j.dirs, j.ws, j.runnerTemp = dirs, dirs[0], dirs[1]
	j.env = []string{"HOME=" + dirs[2]}
	if os.Getuid() == 0 {
		g, err := user.LookupGroup("docker")
		if err != nil {
			t.Fatalf("the steps run as a user in the docker group: %v", err)
		}
		gid, _ := strconv.Atoi(g.Gid)
		j.cred = &syscall.Credential{Uid: runnerUID, Gid: runnerUID, Groups: []uint32{uint32(gid)}}
		t.Cleanup(func() {
			// The job's files are its user's: chown them back so the
			// test's cleanup and checks see them as before.
			for _, d := range dirs {
				exec.Command("chown", "-R", "0:0", d).Run()
			}
		})
	}
	return j
}

// own gives the job's directories (and what the test put there) to the
// runner's user.
func (j *actionJob) own() {
	if j.cred == nil {
		return
	}
	for _, d := range j.dirs {
		if err := filepath.Walk(d, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, runnerUID, runnerUID)
		}); err != nil {
			j.t.Fatal(err)
		}
	}
}

type actionStep struct {
	Name string            `yaml:"name"`
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
}

var actionExpr = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// run runs the job and reports whether every step passed.
func (j *actionJob) run() bool {
	t := j.t
	t.Helper()
	var action struct {
		Inputs map[string]struct {
			Default string `yaml:"default"`
		} `yaml:"inputs"`
		Runs struct {
			Steps []actionStep `yaml:"steps"`
		} `yaml:"runs"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(repoRoot(t), "action.yml")), &action); err != nil {
		t.Fatal(err)
	}
	value := func(expr string) string {
		switch {
		case strings.HasPrefix(expr, "inputs."):
			in := strings.TrimPrefix(expr, "inputs.")
			decl, ok := action.Inputs[in]
			if !ok {
				t.Fatalf("action.yml reads undeclared input %s", in)
			}
			if v, ok := j.inputs[in]; ok {
				return v
			}
			return decl.Default
		case expr == "runner.temp":
			return j.runnerTemp
		case strings.HasPrefix(expr, "steps."):
			parts := strings.Split(expr, ".")
			if len(parts) != 4 || parts[2] != "outputs" {
				t.Fatalf("expression %q", expr)
			}
			return j.outputs[parts[1]][parts[3]]
		}
		t.Fatalf("expression %q is not one this runner knows", expr)
		return ""
	}
	j.log.Reset()
	j.outputs = map[string]map[string]string{}
	path := os.Getenv("PATH")
	failed := false
	for _, st := range action.Runs.Steps {
		if !j.condition(st.If, failed, value) || st.Uses != "" {
			continue
		}
		files := filepath.Join(j.runnerTemp, "_runner_file_commands", strings.ReplaceAll(st.Name, " ", "-"))
		os.MkdirAll(files, 0o755)
		ghPath, ghOutput := filepath.Join(files, "path"), filepath.Join(files, "output")
		for _, f := range []string{ghPath, ghOutput} {
			os.WriteFile(f, nil, 0o644)
		}
		j.own()
		env := append(os.Environ(),
			"PATH="+path,
			"CI=true",
			"GITHUB_ACTIONS=true",
			"GITHUB_WORKSPACE="+j.ws,
			"GITHUB_REPOSITORY=sealyard/action-test",
			"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567",
			"GITHUB_REF=refs/heads/main",
			"GITHUB_RUN_ID=1",
			"GITHUB_PATH="+ghPath,
			"GITHUB_OUTPUT="+ghOutput,
			"GITHUB_STEP_SUMMARY="+filepath.Join(j.runnerTemp, "summary.md"),
			"RUNNER_TEMP="+j.runnerTemp,
		)
		env = append(env, j.env...)
		for k, v := range st.Env {
			env = append(env, k+"="+actionExpr.ReplaceAllStringFunc(v, func(m string) string {
				return value(actionExpr.FindStringSubmatch(m)[1])
			}))
		}
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", st.Run)
		cmd.Dir, cmd.Env = j.ws, env
		if j.cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: j.cred}
		}
		cmd.Stdout, cmd.Stderr = &j.log, &j.log
		j.log.WriteString("== step " + st.Name + "\n")
		if err := cmd.Run(); err != nil {
			j.log.WriteString("== step " + st.Name + " failed: " + err.Error() + "\n")
			failed = true
		}
		for _, line := range strings.Split(strings.TrimSpace(string(mustRead(t, ghPath))), "\n") {
			if line != "" {
				path = line + ":" + path
			}
		}
		if st.ID != "" {
			runs := readOutputs(t, ghOutput)
			j.outputs[st.ID] = runs[len(runs)-1]
		}
	}
	return !failed
}

// condition evaluates a step's if: terms joined by &&, each a status
// function or a comparison of an expression with a quoted string.
func (j *actionJob) condition(cond string, failed bool, value func(string) string) bool {
	t := j.t
	if cond == "" {
		return !failed
	}
	ok, status := true, false
	for _, term := range strings.Split(cond, "&&") {
		term = strings.TrimSpace(term)
		switch {
		case term == "failure()":
			ok, status = ok && failed, true
		case term == "always()":
			status = true
		case strings.Contains(term, "=="), strings.Contains(term, "!="):
			op := "=="
			if strings.Contains(term, "!=") {
				op = "!="
			}
			lhs, rhs, _ := strings.Cut(term, op)
			want := strings.Trim(strings.TrimSpace(rhs), "'")
			got := value(strings.TrimSpace(lhs))
			ok = ok && (got == want) == (op == "==")
		default:
			t.Fatalf("if: %q: term %q is not one this runner knows", cond, term)
		}
	}
	if !status && failed {
		return false // a step without a status function runs only while all pass
	}
	return ok
}
