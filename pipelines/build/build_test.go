package build

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
)

var (
	amd64 = v1.Platform{OS: "linux", Architecture: "amd64"}
	arm64 = v1.Platform{OS: "linux", Architecture: "arm64"}
)

// files returns the flattened filesystem of img: path -> header and content.
func files(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out["/"+strings.TrimSuffix(h.Name, "/")] = h
	}
}

func fileContent(t *testing.T, img v1.Image, path string) []byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in image: %v", path, err)
		}
		if "/"+h.Name == path {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

func TestBuildGoImage(t *testing.T) {
	ctx := context.Background()
	a, err := Build(ctx, []Source{GoPackage("testdata/hello", ".")}, WithPlatforms(amd64))
	if err != nil {
		t.Fatal(err)
	}
	img, ok := a.(v1.Image)
	if !ok {
		t.Fatalf("one platform should give an image, got %T", a)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532" {
		t.Errorf("user %q, want the non-root default 65532", cf.Config.User)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != "/usr/local/bin/hello" {
		t.Errorf("entrypoint %q", got)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("config %s/%s created %v", cf.OS, cf.Architecture, cf.Created)
	}
	fs := files(t, img)
	h := fs["/usr/local/bin/hello"]
	if h == nil || h.Mode&0o111 == 0 || h.Uid != 0 || !h.ModTime.Equal(time.Unix(0, 0)) {
		t.Fatalf("binary entry %+v", h)
	}
	bin := fileContent(t, img, "/usr/local/bin/hello")
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("build info: %v", err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if bi.Path != "example.com/hello" || settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build info path=%s settings=%v", bi.Path, settings)
	}
	if runtime.GOARCH == "amd64" {
		exe := filepath.Join(t.TempDir(), "hello")
		os.WriteFile(exe, bin, 0o755)
		out, err := exec.Command(exe).CombinedOutput()
		if err != nil || string(out) != "hello from sealyard\n" {
			t.Fatalf("running the binary: %v %q", err, out)
		}
	}
}

func TestBuildMultiPlatformIndex(t *testing.T) {
	a, err := Build(context.Background(), []Source{GoPackage("testdata/hello", ".")}, WithPlatforms(amd64, arm64))
	if err != nil {
		t.Fatal(err)
	}
	idx, ok := a.(v1.ImageIndex)
	if !ok {
		t.Fatalf("two platforms should give an index, got %T", a)
	}
	imgs, err := image.Images(idx)
	if err != nil || len(imgs) != 2 {
		t.Fatalf("%d images, %v", len(imgs), err)
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, pi := range imgs {
		cf, _ := pi.Image.ConfigFile()
		if cf.Architecture != pi.Platform.Architecture {
			t.Errorf("descriptor says %s, config says %s", pi.Platform.Architecture, cf.Architecture)
		}
		f, err := elf.NewFile(bytes.NewReader(fileContent(t, pi.Image, "/usr/local/bin/hello")))
		if err != nil {
			t.Fatal(err)
		}
		if f.Machine != machines[pi.Platform.Architecture] {
			t.Errorf("%s binary is for %v", pi.Platform.Architecture, f.Machine)
		}
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput()
	if err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
}

func TestBuildIsReproducibleAcrossDirectories(t *testing.T) {
	epoch := time.Unix(1700000000, 0)
	var digests []v1.Hash
	for i := 0; i < 2; i++ {
		dir := filepath.Join(t.TempDir(), "checkout", "somewhere", strings.Repeat("x", i+1))
		os.MkdirAll(dir, 0o755)
		copyTree(t, "testdata/hello", dir)
		os.MkdirAll(filepath.Join(dir, "static"), 0o755)
		os.WriteFile(filepath.Join(dir, "static", "index.html"), []byte("<h1>hi</h1>"), 0o644)
		// Different file times must not matter.
		os.Chtimes(filepath.Join(dir, "static", "index.html"), time.Now().Add(time.Duration(i)*time.Hour), time.Now())
		a, err := Build(context.Background(),
			[]Source{GoPackage(dir, "."), Directory(filepath.Join(dir, "static"), "/srv/www")},
			WithPlatforms(amd64, arm64), WithCreated(epoch))
		if err != nil {
			t.Fatal(err)
		}
		d, err := a.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Fatalf("same inputs in two directories gave %s and %s", digests[0], digests[1])
	}
}

func TestDirectorySource(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o750)
	os.WriteFile(filepath.Join(src, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(src, "config.txt"), []byte("x"), 0o600)
	os.Symlink("sub/run.sh", filepath.Join(src, "link"))
	a, err := Build(context.Background(), []Source{Directory(src, "/opt/app")}, WithPlatforms(amd64), WithUser("1000:1000"))
	if err != nil {
		t.Fatal(err)
	}
	img := a.(v1.Image)
	fs := files(t, img)
	checks := []struct {
		path string
		mode int64
		typ  byte
	}{
		{"/opt", 0o755, tar.TypeDir},
		{"/opt/app", 0o755, tar.TypeDir},
		{"/opt/app/sub", 0o750, tar.TypeDir},
		{"/opt/app/sub/run.sh", 0o755, tar.TypeReg},
		{"/opt/app/config.txt", 0o600, tar.TypeReg},
		{"/opt/app/link", 0o777, tar.TypeSymlink},
	}
	for _, c := range checks {
		h := fs[c.path]
		if h == nil {
			t.Errorf("%s missing", c.path)
			continue
		}
		if h.Typeflag != c.typ || h.Mode&0o7777 != c.mode || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: type %c mode %o uid %d", c.path, h.Typeflag, h.Mode, h.Uid)
		}
	}
	if fs["/opt/app/link"].Linkname != "sub/run.sh" {
		t.Errorf("symlink target %q", fs["/opt/app/link"].Linkname)
	}
	cf, _ := img.ConfigFile()
	if cf.Config.User != "1000:1000" {
		t.Errorf("user %q", cf.Config.User)
	}

	if _, err := Build(context.Background(), []Source{Directory(src, "relative/path")}); err == nil {
		t.Error("a relative destination was accepted")
	}
	fifoDir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(fifoDir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), []Source{Directory(fifoDir, "/x")}); err == nil || !strings.Contains(err.Error(), "only files, directories and symlinks") {
		t.Errorf("a fifo was accepted: %v", err)
	}
}

func TestBuildOnBase(t *testing.T) {
	base, err := random.Index(128, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	for _, p := range []v1.Platform{amd64, arm64} {
		img, _ := random.Image(128, 1)
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = p.OS, p.Architecture
		cf.Config.Env = []string{"PATH=/usr/bin", "KEEP=1"}
		img, _ = mutate.ConfigFile(img, cf)
		p := p
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	base = mutate.AppendManifests(base, adds...)

	info := cienv.Info{RepoURL: "https://github.com/acme/app", Commit: "0123456789abcdef0123456789abcdef01234567", Tag: "v1.2.3"}
	a, err := Build(context.Background(), []Source{GoPackage("testdata/hello", ".")},
		WithBase("registry.example.com/base:1", base), WithPlatforms(arm64),
		WithEnv("PATH=/usr/local/bin:/usr/bin", "NEW=2"), WithSourceInfo(info), WithCreated(time.Unix(1700000000, 0)),
		WithExposedPorts("8080"), WithLabels(map[string]string{"team": "platform"}))
	if err != nil {
		t.Fatal(err)
	}
	img := a.(v1.Image)
	m, _ := img.Manifest()
	baseImgs, _ := image.Images(base)
	wantBase, _ := baseImgs[1].Image.Digest()
	wantAnnots := map[string]string{
		AnnotationSource:     info.RepoURL,
		AnnotationRevision:   info.Commit,
		AnnotationVersion:    "v1.2.3",
		AnnotationCreated:    "2023-11-14T22:13:20Z",
		AnnotationBaseName:   "registry.example.com/base:1",
		AnnotationBaseDigest: wantBase.String(),
	}
	for k, v := range wantAnnots {
		if m.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, m.Annotations[k], v)
		}
	}
	cf, _ := img.ConfigFile()
	if got := strings.Join(cf.Config.Env, ";"); got != "PATH=/usr/local/bin:/usr/bin;KEEP=1;NEW=2" {
		t.Errorf("env %s", got)
	}
	if _, ok := cf.Config.ExposedPorts["8080/tcp"]; !ok || cf.Config.Labels["team"] != "platform" || cf.Config.Labels[AnnotationRevision] != info.Commit {
		t.Errorf("config %+v", cf.Config)
	}
	if layers, _ := img.Layers(); len(layers) != 2 {
		t.Errorf("want base layer + binary layer, got %d", len(layers))
	}

	_, err = Build(context.Background(), []Source{GoPackage("testdata/hello", ".")},
		WithBase("registry.example.com/base:1", base), WithPlatforms(v1.Platform{OS: "linux", Architecture: "ppc64le"}))
	if err == nil || !strings.Contains(err.Error(), "has no linux/ppc64le image") {
		t.Errorf("missing base platform: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Build(ctx, nil); err == nil {
		t.Error("an empty build was accepted")
	}
	lib := t.TempDir()
	os.WriteFile(filepath.Join(lib, "go.mod"), []byte("module example.com/lib\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(lib, "lib.go"), []byte("package lib\n"), 0o644)
	if _, err := Build(ctx, []Source{GoPackage(lib, ".")}); err == nil || !strings.Contains(err.Error(), "not a main package") {
		t.Errorf("library package: %v", err)
	}
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "go.mod"), []byte("module example.com/broken\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\nfunc main() { undefined() }\n"), 0o644)
	if _, err := Build(ctx, []Source{GoPackage(broken, ".")}); err == nil || !strings.Contains(err.Error(), "undefined") {
		t.Errorf("compile error: %v", err)
	}
	if _, err := Build(ctx, []Source{GoPackage("testdata/hello", ".")}, WithUser("")); err == nil {
		t.Error("an empty user was accepted")
	}
	if _, err := Build(ctx, []Source{GoPackage("testdata/hello", ".")}, WithExposedPorts("http")); err == nil {
		t.Error("a bad port was accepted")
	}
}

// The go command sees only what it needs of sealyard's environment:
// signing passwords, registry and CI tokens stay out of the build.
func TestGoBuildEnvironmentIsScrubbed(t *testing.T) {
	o := defaults()
	secrets := []string{"COSIGN_PASSWORD=cosign-pw-1234", "SEALYARD_REGISTRY_PASSWORD=reg-pw-5678", "GITHUB_TOKEN=ghs_abcdef", "CI_JOB_TOKEN=glcbt-99", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=oidc-77", "AWS_SECRET_ACCESS_KEY=aws-55"} // gitleaks:allow (made-up values the test plants)
	o.environ = func() []string {
		return append([]string{"PATH=/usr/bin", "HOME=/root", "GOPROXY=https://proxy.example"}, secrets...)
	}
	env, err := goEnv(v1.Platform{OS: "linux", Architecture: "amd64"}, o)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(env, "\n")
	for _, s := range secrets {
		if strings.Contains(joined, s) {
			t.Errorf("the go build environment holds %s", s)
		}
	}
	for _, want := range []string{"PATH=/usr/bin", "HOME=/root", "GOPROXY=https://proxy.example", "GOOS=linux", "CGO_ENABLED=0"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the go build environment lacks %s", want)
		}
	}
}

// -toolexec and -exec run another program inside the build: refused from
// flags, from the options' GOFLAGS and from the environment's GOFLAGS.
func TestGoFlagsThatRunProgramsAreRefused(t *testing.T) {
	ctx := context.Background()
	src := []Source{GoPackage("testdata/hello", ".")}
	for _, opt := range []Option{
		WithGoFlags("-toolexec=/bin/sh"),
		WithGoFlags("-tags=netgo", "--toolexec", "/bin/sh"),
		WithGoFlags("-exec=/tmp/x"),
		WithGoEnv("GOFLAGS=-mod=mod -toolexec=/bin/sh"),
	} {
		if _, err := Build(ctx, src, opt); err == nil || !strings.Contains(err.Error(), "refuses -toolexec and -exec") {
			t.Errorf("%v", err)
		}
	}
	t.Setenv("GOFLAGS", "-toolexec=/bin/true")
	if _, err := Build(ctx, src); err == nil || !strings.Contains(err.Error(), "refuses -toolexec and -exec") {
		t.Errorf("GOFLAGS in the environment: %v", err)
	}
}
