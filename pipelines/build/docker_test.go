//go:build docker

package build

import (
	"context"
	"os/exec"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/dockertest"
	"github.com/sealyard/sealyard/pipelines/image"
)

// TestBuiltImageRunsInDocker builds on a Debian base imported into Docker,
// loads the result back into Docker and runs it.
func TestBuiltImageRunsInDocker(t *testing.T) {
	ctx := context.Background()
	baseRef := dockertest.DebianBase(t)
	base, err := image.Load(ctx, "docker:"+baseRef)
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	a, err := Build(ctx, []Source{GoPackage("testdata/hello", ".")}, WithBase("docker:"+baseRef, base.Artifact), WithPlatforms(amd64))
	if err != nil {
		t.Fatal(err)
	}
	const tag = "sealyard-test/hello:build"
	if err := image.Write(ctx, a, "docker:"+tag); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	out, err := exec.Command("docker", "run", "--rm", tag).CombinedOutput()
	if err != nil || string(out) != "hello from sealyard\n" {
		t.Fatalf("docker run: %v %q", err, out)
	}
	// The default user is not root, and the Debian base is still there.
	out, err = exec.Command("docker", "run", "--rm", "--entrypoint", "/bin/busybox", tag, "id", "-u").CombinedOutput()
	if err != nil || string(out) != "65532\n" {
		t.Fatalf("id -u: %v %q", err, out)
	}
}
