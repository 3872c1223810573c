//go:build docker

package image

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/internal/testutil/dockertest"
)

// The Docker suite runs with -tags docker, which make test sets whenever a
// Docker daemon answers.

// TestDockerSourceMatchesDockerSave: the docker: source is the image
// docker save gives, read as a docker save archive (with its checks),
// from a temporary file that goes when the image is closed; its layers
// are stored uncompressed, and say so.
func TestDockerSourceMatchesDockerSave(t *testing.T) {
	ctx := context.Background()
	ref := dockertest.DockerfileApp(t)
	tmp := t.TempDir()
	fromDaemon, err := Load(ctx, "docker:"+ref, WithTempDir(tmp))
	if err != nil {
		t.Fatal(err)
	}
	defer fromDaemon.Close()
	// The saved archive, and the directory of its layers compressed once.
	if saved, _ := filepath.Glob(filepath.Join(tmp, "*")); len(saved) != 2 {
		t.Fatalf("temporary files while the image is open: %v", saved)
	}

	saved := dockertest.Save(t, ref)
	fromArchive, err := Load(ctx, "docker-archive:"+saved)
	if err != nil {
		t.Fatal(err)
	}
	defer fromArchive.Close()
	if a, b := digest(t, fromDaemon.Artifact), digest(t, fromArchive.Artifact); a != b {
		t.Fatalf("docker: gives %s, docker-archive: of docker save gives %s", a, b)
	}
	cf, err := fromDaemon.Artifact.(v1.Image).ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.Labels["org.example.fixture"] != "sealyard" {
		t.Fatalf("labels %v", cf.Config.Labels)
	}
	layers, _ := fromDaemon.Artifact.(v1.Image).Layers()
	if len(layers) != 2 {
		t.Fatalf("want the imported Debian layer and the COPY layer, got %d layers", len(layers))
	}
	for i, l := range layers {
		if s, ok := l.(interface{ StoredUncompressed() bool }); !ok || !s.StoredUncompressed() {
			t.Errorf("layer %d is not marked stored uncompressed", i)
		}
	}
	if err := readAll(fromDaemon.Artifact); err != nil {
		t.Fatal(err)
	}
	if err := fromDaemon.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Fatalf("left after Close: %v", left)
	}
}

func TestWriteDockerRuns(t *testing.T) {
	ctx := context.Background()
	base := dockertest.DockerfileApp(t)
	l, err := Load(ctx, "docker:"+base)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Round trip through an OCI layout, then back into the daemon.
	dir := "oci-dir:" + filepath.Join(t.TempDir(), "layout")
	if err := Write(ctx, l.Artifact, dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	const tag = "sealyard-test/roundtrip:latest"
	if err := Write(ctx, back.Artifact, "docker:"+tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	out, err := exec.Command("docker", "run", "--rm", tag, "/bin/busybox", "cat", dockertest.AppFile).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	if string(out) != dockertest.AppFileContent {
		t.Fatalf("docker run printed %q", out)
	}
}

func TestLoadDockerMissingImage(t *testing.T) {
	_, err := Load(context.Background(), "docker:sealyard-test/does-not-exist:never")
	if err == nil {
		t.Fatal("loading a missing image succeeded")
	}
}
