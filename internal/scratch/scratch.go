// Package scratch gives the sealyard process one scratch directory for
// everything it unpacks or stages ($TMPDIR/sealyard-PID, set as TMPDIR so
// every library uses it), removed when the process ends, and removes the
// scratch directories of sealyard processes that died without cleaning up
// (killed, or the machine lost power) when the next one starts.
package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
)

var dirName = regexp.MustCompile(`^sealyard-([0-9]+)$`)

// Enter sweeps the scratch directories of dead sealyard processes under
// $TMPDIR, makes this process's, and points TMPDIR at it. The returned
// function removes it and restores TMPDIR. When the directory cannot be
// made, TMPDIR is left as it is.
func Enter() (release func()) {
	base := os.TempDir()
	Sweep(base)
	dir := filepath.Join(base, fmt.Sprintf("sealyard-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return func() {}
	}
	prev, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", dir)
	return func() {
		if had {
			os.Setenv("TMPDIR", prev)
		} else {
			os.Unsetenv("TMPDIR")
		}
		os.RemoveAll(dir)
	}
}

// Sweep removes the scratch directories under base whose process is gone.
// A directory whose process (or a process with a reused PID) is alive is
// left alone.
func Sweep(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		m := dirName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || pid == os.Getpid() || alive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(base, e.Name()))
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
