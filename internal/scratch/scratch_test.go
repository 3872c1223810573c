package scratch

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func TestSweepRemovesOnlyDeadProcessesDirs(t *testing.T) {
	base := t.TempDir()
	// A process that has ended.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(base, "sealyard-"+strconv.Itoa(cmd.Process.Pid))
	alive := filepath.Join(base, "sealyard-"+strconv.Itoa(os.Getppid()))
	other := filepath.Join(base, "sealyard-sbom-123")
	for _, d := range []string{dead, alive, other} {
		os.MkdirAll(filepath.Join(d, "x"), 0o755)
	}
	Sweep(base)
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Error("the dead process's scratch directory is still there")
	}
	for _, d := range []string{alive, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}

func TestEnter(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	base := os.TempDir()
	release := Enter()
	dir := os.TempDir()
	if filepath.Dir(dir) != base || filepath.Base(dir) != "sealyard-"+strconv.Itoa(os.Getpid()) {
		t.Fatalf("scratch %s under %s", dir, base)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	release()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatal("the scratch directory outlived the release")
	}
	if os.TempDir() != base {
		t.Fatalf("TMPDIR is %s, want %s back", os.TempDir(), base)
	}
}
