package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/internal/testutil/plant"
	"github.com/sealyard/sealyard/internal/testutil/virtualsigstore"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// sealyardImage builds sealyard's image as make release does (the binary
// alone on scratch), pushes it and returns REPOSITORY@DIGEST.
func sealyardImage(t *testing.T, s *signing) string {
	t.Helper()
	layout := "oci-dir:" + filepath.Join(t.TempDir(), "sealyard")
	run(t, "", nil, "build", filepath.Join(repoRoot(t), "cmd", "sealyard"), "-o", layout).mustSucceed(t)
	pushed := strings.TrimSpace(s.sealyard(t, "push", layout, s.reg.Host+"/sealyard:released").mustSucceed(t).stdout)
	return s.reg.Host + "/sealyard@" + pushed[strings.Index(pushed, "@")+1:]
}

// loggedDBArtifact pushes the fixture database as a signed artifact whose
// signature is in a transparency log, and returns the artifact and the
// log's trusted root (what a CI job verifies it with, offline).
func loggedDBArtifact(t *testing.T, s *signing) (ref, trustedRoot string) {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rekor := virtualsigstore.RekorServer(t, vs)
	ref = strings.TrimSpace(s.sealyard(t, "db", "push", s.reg.Host+"/security/sealyard-db:latest", "--db", vulnfixture.DBDir(t), "--key", s.priv, "--rekor-url", rekor).mustSucceed(t).stdout)
	return ref, s.write(t, "trusted_root.json", virtualsigstore.TrustedRootJSON(t, vs))
}

// TestGitLabTemplateWithReleasedImage runs the GitLab template's
// before_script as a job with SEALYARD_IMAGE set: sealyard is taken out of
// its released image by digest (with the job's registry credentials) and
// installs the signed database artifact. A tag instead of a digest is
// refused before anything is fetched. No password is in the job's output.
func TestGitLabTemplateWithReleasedImage(t *testing.T) {
	s := newSigning(t)
	img := sealyardImage(t, s)
	dbRef, trustedRoot := loggedDBArtifact(t, s)

	var tmpl struct {
		Variables map[string]string `yaml:"variables"`
		Sealyard  struct {
			BeforeScript []string `yaml:"before_script"`
		} `yaml:".sealyard"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(repoRoot(t), "templates", "gitlab", "sealyard.gitlab-ci.yml")), &tmpl); err != nil {
		t.Fatal(err)
	}
	project, gopath := t.TempDir(), t.TempDir()
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	job := func(image string) (string, error) {
		t.Helper()
		// What GitLab hands the job, then the template's variables,
		// expanded against it, then the project's settings.
		vars := map[string]string{
			"GITLAB_CI": "true", "CI": "true", "CI_PROJECT_DIR": project,
			"CI_REGISTRY": s.reg.Host, "CI_REGISTRY_USER": s.reg.Username, "CI_REGISTRY_PASSWORD": s.reg.Password,
			"CI_REGISTRY_IMAGE": s.reg.Host + "/acme/app", "CI_COMMIT_REF_SLUG": "main",
			"HOME": t.TempDir(), "GOPATH": gopath, "GOMODCACHE": strings.TrimSpace(string(gomodcache)),
			// The registry's private CA, trusted by crane and sealyard alike.
			"SSL_CERT_FILE": s.reg.CAFile,
		}
		for k, v := range tmpl.Variables {
			vars[k] = os.Expand(v, func(k string) string { return vars[k] })
		}
		for k, v := range map[string]string{
			"SEALYARD_IMAGE": image, "SEALYARD_DB_REF": dbRef, "SEALYARD_DB_KEY": s.pub,
			"SEALYARD_TRUSTED_ROOT": trustedRoot,
		} {
			vars[k] = v
		}
		env := os.Environ()
		for k, v := range vars {
			env = append(env, k+"="+v)
		}
		script := "set -eo pipefail\n" + strings.Join(tmpl.Sealyard.BeforeScript, "\n") + "\nsealyard version -o json\n"
		cmd := exec.Command("bash", "--noprofile", "--norc", "-c", script)
		cmd.Dir, cmd.Env = project, env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := job(img)
	if err != nil {
		t.Fatalf("the job's before_script: %v\n%s", err, out)
	}
	bin := filepath.Join(gopath, "bin", "sealyard")
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("sealyard taken from the image: %v", err)
	}
	if !strings.Contains(out, `"goVersion"`) {
		t.Fatalf("sealyard from the image did not run:\n%s", out)
	}
	st, err := vulndb.Inspect(filepath.Join(project, ".sealyard-db"))
	if err != nil {
		t.Fatalf("no database in the job's cache directory: %v\n%s", err, out)
	}
	if want, _ := vulndb.Inspect(vulnfixture.DBDir(t)); st.Digest != want.Digest || st.Artifact != dbRef {
		t.Fatalf("installed %s from %q, want %s from %s", st.Digest, st.Artifact, want.Digest, dbRef)
	}
	plant.AssertAbsent(t, "the job's output", []byte(out), s.reg.Password, s.password)

	// By tag: refused, nothing fetched or installed.
	os.Remove(bin)
	out, err = job(s.reg.Host + "/sealyard:released")
	if code := exitCode(err); code != 2 || !strings.Contains(out, "by digest") {
		t.Fatalf("a tag: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(bin); err == nil {
		t.Fatal("sealyard was installed from an image named by tag")
	}
}

func exitCode(err error) int {
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
