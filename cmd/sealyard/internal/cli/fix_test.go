package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFix turns the demo's deny into an allow on a copy of the example
// application: go get for golang.org/x/text, the toolchain line for the
// standard library (the lowest fixed release the proxy serves), go mod
// tidy. A dirty git tree is refused; --dry-run leaves the module as it
// was; only go.mod and go.sum change.
func TestFix(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "greeter")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		if err := os.WriteFile(filepath.Join(dir, f), mustRead(t, filepath.Join(repoRoot(t), "examples", "greeter", f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "greeter")
	original := mustRead(t, filepath.Join(dir, "go.mod"))

	// A dirty tree is refused.
	os.WriteFile(filepath.Join(dir, "main.go"), append(mustRead(t, filepath.Join(dir, "main.go")), []byte("\n// edited\n")...), 0o644)
	if r := run(t, "", nil, append([]string{"fix", dir}, dbArgs(t)...)...); r.code != ExitError || !strings.Contains(r.stderr, "uncommitted changes") {
		t.Fatalf("a dirty tree: exit %d %s", r.code, r.stderr)
	}
	git("checkout", "--", "main.go")

	// --dry-run: the diff, and the module untouched.
	r := run(t, "", nil, append([]string{"fix", dir, "--dry-run"}, dbArgs(t)...)...)
	if r.code != ExitOK || !strings.Contains(r.stdout, "+toolchain go1.") || !strings.Contains(r.stdout, "-require golang.org/x/text v0.3.5") {
		t.Fatalf("--dry-run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !bytes.Equal(mustRead(t, filepath.Join(dir, "go.mod")), original) {
		t.Fatal("--dry-run changed go.mod")
	}

	r = run(t, "", nil, append([]string{"fix", dir}, dbArgs(t)...)...)
	t.Logf("sealyard fix:\n%s", r.stdout)
	if r.code != ExitOK || !strings.Contains(r.stdout, "before: deny") || !strings.Contains(r.stdout, "after: allow (0 violations)") {
		t.Fatalf("fix: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	gomod := string(mustRead(t, filepath.Join(dir, "go.mod")))
	if !strings.Contains(gomod, "toolchain go1.") || strings.Contains(gomod, "golang.org/x/text v0.3.5") {
		t.Fatalf("go.mod after the fix:\n%s", gomod)
	}
	if changed := strings.Fields(git("status", "--porcelain")); len(changed) != 4 || changed[1] != "go.mod" || changed[3] != "go.sum" {
		t.Fatalf("the fix changed more than go.mod and go.sum: %v", changed)
	}
}
