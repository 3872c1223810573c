//go:build docker

package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/dockertest"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
)

// moduleExec is what ci/internal/cmdline says the Dagger module runs.
type moduleExec struct {
	Args      []string          `json:"args"`
	Env       map[string]string `json:"env"`
	SecretEnv []string          `json:"secretEnv"`
	Mounts    []string          `json:"mounts"`
}

// moduleCommandLine asks the Dagger module's own code (ci/internal/cmdline,
// through its sealyard-cmdline command) for the command line of a function.
func moduleCommandLine(t *testing.T, function string, args any) moduleExec {
	t.Helper()
	in, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "./internal/cmdline/cmd/sealyard-cmdline", function)
	cmd.Dir = filepath.Join(repoRoot(t), "ci")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sealyard-cmdline %s: %v\n%s", function, err, stderr.String())
	}
	var e moduleExec
	if err := json.Unmarshal(out, &e); err != nil {
		t.Fatalf("sealyard-cmdline printed %q: %v", out, err)
	}
	return e
}

// TestDaggerModuleParity runs the exact command line the Dagger module's
// Ship function hands to its container (argv, environment, secret
// variables, the paths it mounts inputs at) with the sealyard binary in a
// real container, and sealyard run on the same input on the host. The
// image digest, the SBOM bytes, the policy input and the decision are the
// same. The input is the example greeter as it is, which the gate denies:
// both exit 1 and push nothing. The CI identity is passed as the module
// takes it (a KEY=VALUE file, tokens dropped) and reaches the decision.
func TestDaggerModuleParity(t *testing.T) {
	base := dockertest.DebianBase(t)
	bin := sealyardBinary(t)
	s := newSigning(t)
	const epoch = "1750000000"
	ciEnv := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/greeter",
		"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_REF": "refs/heads/main", "GITHUB_RUN_ID": "42",
		"GITHUB_WORKFLOW_REF": "acme/greeter/.github/workflows/sealyard.yml@refs/heads/main",
	}
	const token = "ghs_" + "parityTokenMustNotTravel"
	var ciFile strings.Builder
	for k, v := range ciEnv {
		ciFile.WriteString(k + "=" + v + "\n")
	}
	ciFile.WriteString("GITHUB_TOKEN=" + token + "\n")
	ref := "registry.invalid/greeter:v1"

	// The module's command line for: dagger call ship --source . --ref REF
	// --key ... --password ... --db DIR --db-max-age 0 --ci-env FILE
	// --source-date-epoch 1750000000
	e := moduleCommandLine(t, "ship", map[string]any{
		"Ref": ref, "Pkg": ".", "GateMode": "enforce",
		"Inputs":  map[string]any{"DB": true, "DBMaxAge": "0"},
		"Signing": map[string]any{"HasPassword": true},
		"CI":      map[string]any{"SourceDateEpoch": epoch},
		"CIEnv":   ciFile.String(),
	})
	if _, ok := e.Env["GITHUB_TOKEN"]; ok {
		t.Fatal("the module forwards GITHUB_TOKEN")
	}

	// In a container, with the module's paths.
	src, outModule := greeterCopy(t), t.TempDir()
	goEnv := func(k string) string {
		out, _ := exec.Command("go", "env", k).Output()
		return strings.TrimSpace(string(out))
	}
	docker := []string{"run", "--rm", "--network", "none",
		"-v", bin + ":/usr/local/bin/sealyard:ro",
		"-v", goEnv("GOROOT") + ":/usr/local/go:ro",
		"-v", goEnv("GOMODCACHE") + ":/go/pkg/mod",
		"-v", goEnv("GOCACHE") + ":/root/.cache/go-build",
		"-v", src + ":/work/src:ro",
		"-v", outModule + ":/work/out",
		"-v", vulnfixture.DBDir(t) + ":/work/db:ro",
		"-v", s.priv + ":/run/secrets/cosign.key:ro",
		"-w", "/work",
		"-e", "PATH=/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin", "-e", "HOME=/root",
		"-e", "GOMODCACHE=/go/pkg/mod", "-e", "GOCACHE=/root/.cache/go-build", "-e", "GOPROXY=off", "-e", "GOTOOLCHAIN=local",
		"-e", "CGO_ENABLED=0",
	}
	for k, v := range e.Env {
		docker = append(docker, "-e", k+"="+v)
	}
	for _, k := range e.SecretEnv {
		if k != "COSIGN_PASSWORD" {
			t.Fatalf("unexpected secret variable %s", k)
		}
		docker = append(docker, "-e", k+"="+s.password)
	}
	docker = append(append(docker, base), e.Args...)
	cmd := exec.Command("docker", docker...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != ExitDenied {
		t.Fatalf("the module's command line: %v, want exit %d (denied)\n%s\n%s", err, ExitDenied, stdout.String(), stderr.String())
	}

	// On the host, as a user of the CLI in the same job would run it.
	outCLI := t.TempDir()
	env := map[string]string{"COSIGN_PASSWORD": s.password, "SOURCE_DATE_EPOCH": epoch}
	for k, v := range ciEnv {
		env[k] = v
	}
	r := run(t, "", env, append([]string{"run", greeterCopy(t), "--to", ref, "--key", s.priv, "--out", outCLI, "--progress", "plain"}, dbArgs(t)...)...)
	if r.code != ExitDenied {
		t.Fatalf("sealyard run: exit %d\n%s", r.code, r.stderr)
	}

	var decision struct {
		Image struct{ Digest string } `json:"image"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(outModule, "decision.json")), &decision); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"decision.json", "policy-input.json", "sbom-linux-amd64.cdx.json", "sbom-linux-amd64.spdx.json", "findings.json"} {
		a, b := mustRead(t, filepath.Join(outModule, f)), mustRead(t, filepath.Join(outCLI, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the module's command line (%s) and sealyard run (%s)", f, sum(a), sum(b))
		}
		t.Logf("%s: %s", f, sum(a))
	}
	input := string(mustRead(t, filepath.Join(outModule, "policy-input.json")))
	if !strings.Contains(input, `"ci_system": "github-actions"`) || !strings.Contains(input, "acme/greeter") {
		t.Errorf("the CI identity did not reach the module's run:\n%s", input)
	}
	if strings.Contains(stdout.String()+stderr.String()+input, token) {
		t.Error("the CI token reached the module's run")
	}
	t.Logf("image digest %s", decision.Image.Digest)
}
