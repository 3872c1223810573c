// Package debian makes root filesystems from real Debian packages for tests:
// it downloads .debs with apt-get, unpacks them with dpkg-deb and writes the
// dpkg status database a real installation would have, so SBOM catalogers
// see genuine packages. Docker base images are made from these with
// docker import, since the test machines' Docker cannot pull images.
package debian

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/fixturecache"
)

// SmallBase is a handful of small, real packages: enough for the dpkg
// cataloger and for an image with a shell (busybox).
var SmallBase = []string{"base-files", "netbase", "tzdata", "busybox-static"}

// Rootfs returns a cached directory holding pkgs unpacked, with
// var/lib/dpkg/status listing each one. Its sibling rootfs.tar holds the
// same tree, for docker import.
func Rootfs(t testing.TB, pkgs ...string) string {
	t.Helper()
	key := fixturecache.Key(append([]string{"debian-rootfs-v2", release()}, pkgs...)...)
	dir := fixturecache.Dir(t, "debian-rootfs", key, func(dir string) error {
		return makeRootfs(dir, pkgs)
	})
	return filepath.Join(dir, "rootfs")
}

// Tarball returns the tar of Rootfs(pkgs).
func Tarball(t testing.TB, pkgs ...string) string {
	t.Helper()
	return filepath.Join(filepath.Dir(Rootfs(t, pkgs...)), "rootfs.tar")
}

func release() string {
	b, _ := os.ReadFile("/etc/os-release")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VERSION_CODENAME="); ok {
			return v
		}
	}
	return "unknown"
}

var updateOnce sync.Once

func download(dir string, pkgs []string) error {
	run := func() ([]byte, error) {
		cmd := exec.Command("apt-get", append([]string{"download", "-q"}, pkgs...)...)
		cmd.Dir = dir
		return cmd.CombinedOutput()
	}
	out, err := run()
	if err != nil {
		// A fresh machine has no package lists yet.
		updateOnce.Do(func() { _ = exec.Command("apt-get", "update", "-q").Run() })
		out, err = run()
	}
	if err != nil {
		return fmt.Errorf("apt-get download %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

func makeRootfs(dir string, pkgs []string) error {
	debs := filepath.Join(dir, "debs")
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{debs, filepath.Join(root, "var/lib/dpkg/info")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := download(debs, pkgs); err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(debs, "*.deb"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	if len(files) != len(pkgs) {
		return fmt.Errorf("asked for %d packages, apt-get download gave %d", len(pkgs), len(files))
	}
	var status bytes.Buffer
	for _, deb := range files {
		if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
			return fmt.Errorf("dpkg-deb -x %s: %v\n%s", deb, err, out)
		}
		control, err := exec.Command("dpkg-deb", "-f", deb).Output()
		if err != nil {
			return fmt.Errorf("dpkg-deb -f %s: %w", deb, err)
		}
		name, stanza := statusStanza(string(control))
		status.WriteString(stanza)
		status.WriteString("\n")
		list, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
		if err != nil {
			return fmt.Errorf("dpkg-deb --fsys-tarfile %s: %w", deb, err)
		}
		names, err := tarNames(list)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/info", name+".list"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), status.Bytes(), 0o644); err != nil {
		return err
	}
	tarPath := filepath.Join(dir, "rootfs.tar")
	cmd := exec.Command("tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-C", root, "-cf", tarPath, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("tar: %v\n%s", err, out)
	}
	return nil
}

// statusStanza turns a .deb's control fields into a dpkg status stanza.
func statusStanza(control string) (name, stanza string) {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(strings.TrimRight(control, "\n")))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		b.WriteString(line + "\n")
		if v, ok := strings.CutPrefix(line, "Package: "); ok {
			name = v
			b.WriteString("Status: install ok installed\n")
		}
	}
	return name, b.String()
}

func tarNames(tarData []byte) ([]string, error) {
	cmd := exec.Command("tar", "-t")
	cmd.Stdin = bytes.NewReader(tarData)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing package files: %w", err)
	}
	var names []string
	for _, n := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		n = strings.TrimSuffix(strings.TrimPrefix(n, "."), "/")
		if n == "" {
			n = "/."
		}
		names = append(names, n)
	}
	return names, nil
}

// Installed reads the dpkg status database under root and returns package
// name -> version for every installed package.
func Installed(t testing.TB, root string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, stanza := range strings.Split(string(b), "\n\n") {
		var name, version string
		for _, l := range strings.Split(stanza, "\n") {
			if v, ok := strings.CutPrefix(l, "Package: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(l, "Version: "); ok {
				version = v
			}
		}
		if name != "" {
			out[name] = version
		}
	}
	return out
}

// DockerImport imports Rootfs(pkgs) into the Docker daemon as ref (for
// example "sealyard-test/debian:small") unless it is already there.
func DockerImport(t testing.TB, ref string, pkgs ...string) {
	t.Helper()
	if exec.Command("docker", "image", "inspect", ref).Run() == nil {
		return
	}
	tarPath := Tarball(t, pkgs...)
	out, err := exec.Command("docker", "import", "--platform", "linux/amd64", tarPath, ref).CombinedOutput()
	if err != nil {
		t.Fatalf("docker import %s: %v\n%s", ref, err, out)
	}
}
