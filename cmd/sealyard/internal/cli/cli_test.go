package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// result is what one in-process sealyard invocation produced.
type result struct {
	code           int
	stdout, stderr string
}

// run executes sealyard with args, stdin and extra environment variables
// (everything else in the environment is hidden from the command).
func run(t *testing.T, stdin string, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "HOME", "PATH", "GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOFLAGS", "TMPDIR":
			return os.Getenv(k)
		}
		return ""
	}
	code := ExecuteEnv(context.Background(), args, strings.NewReader(stdin), &out, &errb, getenv)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (r result) mustSucceed(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s", dir)
	}
	return dir
}

// TestVersion runs a real binary: test binaries carry no dependency list in
// their build information.
func TestVersion(t *testing.T) {
	out, err := exec.Command(sealyardBinary(t), "version", "-o", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{`"goVersion"`, `"github.com/google/go-containerregistry": "v0.22.1"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("version output lacks %s:\n%s", want, out)
		}
	}
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// sealyardBinary builds cmd/sealyard once per test process, as the Dagger
// module's container does (CGO_ENABLED=0, -trimpath).
func sealyardBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sealyard-bin-*")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "sealyard")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binaryPath, "github.com/sealyard/sealyard/cmd/sealyard")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

func TestHelpHasExamples(t *testing.T) {
	root := newRoot(&streams{})
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		if c.Example == "" {
			t.Errorf("sealyard %s --help has no examples", c.Name())
		}
		for _, sub := range c.Commands() {
			if sub.Example == "" {
				t.Errorf("sealyard %s %s --help has no examples", c.Name(), sub.Name())
			}
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"push", "only-one-arg"},
		{"build", "--no-such-flag"},
		{"build", "."},
		{"push", "oci-dir:/nonexistent", "127.0.0.1:1/app:v1"},
	} {
		r := run(t, "", nil, args...)
		if r.code != ExitError || r.stderr == "" {
			t.Errorf("sealyard %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}
