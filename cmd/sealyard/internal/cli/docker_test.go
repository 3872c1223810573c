//go:build docker

package cli

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/distribution"
	"github.com/sealyard/sealyard/internal/testutil/dockertest"
)

// TestDockerSourcePushMatchesDockerSave pushes an image made by docker
// import + docker build twice, once straight from the daemon and once from
// its docker save archive: both must land with the same digest.
func TestDockerSourcePushMatchesDockerSave(t *testing.T) {
	reg := distribution.Start(t)
	ref := dockertest.DockerfileApp(t)
	saved := dockertest.Save(t, ref)
	creds := registryArgs(reg)
	a := run(t, reg.Password, nil, append([]string{"push", "docker:" + ref, reg.Host + "/from-daemon:v1"}, creds...)...).mustSucceed(t)
	b := run(t, reg.Password, nil, append([]string{"push", "docker-archive:" + saved, reg.Host + "/from-archive:v1"}, creds...)...).mustSucceed(t)
	da := a.stdout[strings.Index(a.stdout, "@")+1:]
	db := b.stdout[strings.Index(b.stdout, "@")+1:]
	if da != db || !strings.HasPrefix(da, "sha256:") {
		t.Fatalf("docker: pushed %q, docker-archive: pushed %q", a.stdout, b.stdout)
	}
}

// TestBuildToDockerRuns builds the example for the host and runs it in Docker.
func TestBuildToDockerRuns(t *testing.T) {
	const tag = "sealyard-test/greeter:cli"
	run(t, "", nil, "build", repoRoot(t)+"/examples/greeter", "-o", "docker:"+tag).mustSucceed(t)
	out := dockerRun(t, tag, "--once", "de")
	if out != "Hallo\n" {
		t.Fatalf("docker run printed %q", out)
	}
}
func dockerRun(t *testing.T, tag string, args ...string) string {
	t.Helper()
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	out, err := exec.Command("docker", append([]string{"run", "--rm", tag}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker run %s: %v\n%s", tag, err, out)
	}
	return string(out)
}
