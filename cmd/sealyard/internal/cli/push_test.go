package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sealyard/sealyard/internal/testutil/distribution"
	"github.com/sealyard/sealyard/pipelines/image"
)

func registryArgs(reg *distribution.Registry) []string {
	return []string{"--ca-file", reg.CAFile, "--username", reg.Username, "--password-stdin"}
}

// TestBuildPushExample is the foundation's end-to-end check: build the
// example app for two platforms into an OCI layout, push it to Distribution
// over TLS with auth, and confirm the digest, the platforms and that the
// binary runs.
func TestBuildPushExample(t *testing.T) {
	reg := distribution.Start(t)
	out := filepath.Join(t.TempDir(), "out")
	b := run(t, "", map[string]string{"SOURCE_DATE_EPOCH": "1700000000"},
		"build", filepath.Join(repoRoot(t), "examples", "greeter"), "--platform", "linux/amd64,linux/arm64", "-o", "oci-dir:"+out).mustSucceed(t)
	built := strings.TrimSpace(b.stdout)

	p := run(t, reg.Password, nil, append([]string{"push", "oci-dir:" + out, reg.Host + "/app:v1"}, registryArgs(reg)...)...).mustSucceed(t)
	line := strings.TrimSpace(p.stdout)
	if line != reg.Host+"/app:v1@"+built {
		t.Fatalf("push printed %q, want %s", line, reg.Host+"/app:v1@"+built)
	}
	if strings.Contains(p.stdout+p.stderr, reg.Password) {
		t.Fatal("the password appears in the output")
	}

	c := reg.Client(t)
	ref, _ := name.ParseReference(reg.Host + "/app:v1")
	desc, err := remote.Get(ref, c.RemoteOptions(context.Background())...)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != built {
		t.Fatalf("registry says %s, sealyard said %s", desc.Digest, built)
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := image.Images(idx)
	if err != nil {
		t.Fatal(err)
	}
	archs := map[string]v1.Image{}
	for _, pi := range imgs {
		archs[pi.Platform.Architecture] = pi.Image
	}
	if len(archs) != 2 || archs["amd64"] == nil || archs["arm64"] == nil {
		t.Fatalf("index platforms: %v", archs)
	}
	if runtime.GOARCH == "amd64" {
		bin := extract(t, archs["amd64"], "usr/local/bin/greeter")
		exe := filepath.Join(t.TempDir(), "greeter")
		os.WriteFile(exe, bin, 0o755)
		got, err := exec.Command(exe, "--once", "fr").CombinedOutput()
		if err != nil || string(got) != "Bonjour\n" {
			t.Fatalf("running the pushed amd64 binary: %v %q", err, got)
		}
	}
}

func extract(t *testing.T, img v1.Image, path string) []byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not found: %v", path, err)
		}
		if h.Name == path {
			b, _ := io.ReadAll(tr)
			return b
		}
	}
}

func TestBuildIsReproducibleCLI(t *testing.T) {
	src := filepath.Join(repoRoot(t), "pipelines", "build", "testdata", "hello")
	var digests []string
	for i := 0; i < 2; i++ {
		dir := filepath.Join(t.TempDir(), strings.Repeat("d", i+1))
		os.MkdirAll(dir, 0o755)
		if out, err := exec.Command("cp", "-a", src+"/.", dir).CombinedOutput(); err != nil {
			t.Fatal(err, string(out))
		}
		r := run(t, "", map[string]string{"SOURCE_DATE_EPOCH": "1700000000"},
			"build", dir, "--platform", "linux/amd64,linux/arm64", "-o", "oci-dir:"+filepath.Join(dir, "..", "out")).mustSucceed(t)
		digests = append(digests, strings.TrimSpace(r.stdout))
	}
	if digests[0] != digests[1] || !strings.HasPrefix(digests[0], "sha256:") {
		t.Fatalf("digests %v", digests)
	}
	bad := run(t, "", map[string]string{"SOURCE_DATE_EPOCH": "yesterday"}, "build", src, "-o", "oci-dir:"+t.TempDir()+"/x")
	if bad.code != ExitError || !strings.Contains(bad.stderr, "SOURCE_DATE_EPOCH") {
		t.Fatalf("bad SOURCE_DATE_EPOCH: %+v", bad)
	}
}

// TestPushHostileInputs checks that bad inputs exit 2 with a message that
// names the problem, and that nothing reaches the registry.
func TestPushHostileInputs(t *testing.T) {
	reg := distribution.Start(t)
	dir := t.TempDir()
	src := filepath.Join(repoRoot(t), "pipelines", "build", "testdata", "hello")
	good := filepath.Join(dir, "good.tar")
	run(t, "", nil, "build", src, "-o", "docker-archive:"+good, "-o", "oci-dir:"+filepath.Join(dir, "layout")).mustSucceed(t)
	data, _ := os.ReadFile(good)
	os.WriteFile(filepath.Join(dir, "truncated.tar"), data[:len(data)*2/3], 0o644)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "../../../tmp/sealyard-evil", Size: 4, Typeflag: tar.TypeReg, Mode: 0o644})
	tw.Write([]byte("evil"))
	tw.Close()
	os.WriteFile(filepath.Join(dir, "traversal.tar"), buf.Bytes(), 0o644)

	// A layout whose layer blob is gone.
	l, err := image.Load(context.Background(), "oci-dir:"+filepath.Join(dir, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := l.Artifact.(v1.Image).Layers()
	ld, _ := layers[0].Digest()
	os.Remove(filepath.Join(dir, "layout", "blobs", "sha256", ld.Hex))

	creds := registryArgs(reg)
	tests := []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"truncated tarball", reg.Password, append([]string{"push", "docker-archive:" + filepath.Join(dir, "truncated.tar"), reg.Host + "/app:v1"}, creds...), "truncated"},
		{"path traversal", reg.Password, append([]string{"push", "oci-archive:" + filepath.Join(dir, "traversal.tar"), reg.Host + "/app:v1"}, creds...), "path traversal"},
		{"missing layer blob", reg.Password, append([]string{"push", "oci-dir:" + filepath.Join(dir, "layout"), reg.Host + "/app:v1"}, creds...), "blob " + ld.String() + " is missing"},
		{"bad digest", reg.Password, append([]string{"push", "registry:" + reg.Host + "/app@sha256:12345", reg.Host + "/app:v1"}, creds...), "sha256:12345"},
		{"wrong credentials", "not-the-password", append([]string{"push", "docker-archive:" + good, reg.Host + "/app:v1", "--retries", "0"}, creds...), "401"},
		{"no password for username", "", []string{"push", "docker-archive:" + good, reg.Host + "/app:v1", "--username", "u"}, "without a password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.stdin, nil, tt.args...)
			if r.code != ExitError {
				t.Fatalf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("stderr %q does not mention %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Fatalf("stdout %q: nothing should be reported", r.stdout)
			}
			if strings.Contains(r.stderr, reg.Password) {
				t.Fatal("the password appears in the error")
			}
		})
	}
	if _, err := os.Stat("/tmp/sealyard-evil"); err == nil {
		t.Fatal("path traversal wrote outside the archive")
	}
	c := reg.Client(t)
	repo, _ := name.NewRepository(reg.Host + "/app")
	if tags, err := remote.List(repo, c.RemoteOptions(context.Background())...); err == nil && len(tags) > 0 {
		t.Fatalf("hostile inputs left tags in the registry: %v", tags)
	}

	reg.Stop()
	r := run(t, reg.Password, nil, append([]string{"push", "docker-archive:" + good, reg.Host + "/app:v1", "--retries", "0"}, creds...)...)
	if r.code != ExitError || !strings.Contains(r.stderr, "connection refused") {
		t.Fatalf("registry down: exit %d %q", r.code, r.stderr)
	}
}
