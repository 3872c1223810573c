// Package dockertest makes images in the local Docker daemon for the Docker
// test suite (go test -tags docker): a base imported from real Debian
// packages, and an image built on it from a Dockerfile.
package dockertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/debian"
)

// BaseRef is the tag of the imported Debian base.
const BaseRef = "sealyard-test/debian:small"

// AppRef is the tag of the image DockerfileApp builds.
const AppRef = "sealyard-test/dockerfile-app:latest"

// AppFile is a file the Dockerfile app holds, with AppFileContent.
const (
	AppFile        = "/fixture.txt"
	AppFileContent = "sealyard fixture\n"
)

// DebianBase imports debian.SmallBase into Docker as BaseRef.
func DebianBase(t testing.TB) string {
	t.Helper()
	debian.DockerImport(t, BaseRef, debian.SmallBase...)
	return BaseRef
}

// DockerfileApp builds AppRef with the classic builder from a Dockerfile
// FROM the Debian base (a label and one COPY layer) and returns its tag.
func DockerfileApp(t testing.TB) string {
	t.Helper()
	base := DebianBase(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fixture.txt"), []byte(AppFileContent), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerfile := "FROM " + base + "\nLABEL org.example.fixture=sealyard\nCOPY fixture.txt " + AppFile + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker", "build", "-q", "-t", AppRef, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	return AppRef
}

// Save writes ref to a docker save archive in a temporary directory.
func Save(t testing.TB, ref string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "saved.tar")
	if b, err := exec.Command("docker", "save", "-o", out, ref).CombinedOutput(); err != nil {
		t.Fatalf("docker save: %v\n%s", err, b)
	}
	return out
}
