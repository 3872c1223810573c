package build

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BinDir is where Go binaries are placed in the image.
const BinDir = "/usr/local/bin"

type goPackage struct {
	dir, pkg string
}

// GoPackage compiles the main package pkg (an import path or a path relative
// to dir, like "./cmd/app") with the go command in dir, statically
// (CGO_ENABLED=0) and with -trimpath, keeping the module build information
// SBOM tools read. The binary goes to /usr/local/bin/NAME and becomes the
// entrypoint.
func GoPackage(dir, pkg string) Source {
	if pkg == "" {
		pkg = "."
	}
	return goPackage{dir: dir, pkg: pkg}
}

func (g goPackage) String() string {
	if g.pkg == "." {
		return "go:" + g.dir
	}
	return "go:" + g.pkg
}

func (g goPackage) layer(ctx context.Context, p v1.Platform, o *options, mt types.MediaType) (layerResult, error) {
	importPath, binName, err := g.mainName(ctx, o)
	if err != nil {
		return layerResult{}, err
	}
	tmp, err := os.MkdirTemp("", "sealyard-go-*")
	if err != nil {
		return layerResult{}, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, binName)
	args := []string{"build", "-trimpath", "-o", out}
	args = append(args, o.goFlags...)
	if o.ldflags != "" {
		args = append(args, "-ldflags="+o.ldflags)
	}
	args = append(args, g.pkg)
	env, err := goEnv(p, o)
	if err != nil {
		return layerResult{}, err
	}
	if err := runGo(ctx, g.dir, env, args...); err != nil {
		return layerResult{}, fmt.Errorf("compiling %s for %s: %w", g.pkg, p.String(), err)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return layerResult{}, err
	}
	var buf bytes.Buffer
	tw := newTarWriter(&buf, o.created)
	target := path.Join(BinDir, binName)
	if err := tw.parents(target); err != nil {
		return layerResult{}, err
	}
	if err := tw.file(target, 0o755, int64(len(bin)), bytes.NewReader(bin)); err != nil {
		return layerResult{}, err
	}
	if err := tw.Close(); err != nil {
		return layerResult{}, err
	}
	l, err := memoryLayer(buf.Bytes(), mt)
	if err != nil {
		return layerResult{}, err
	}
	return layerResult{layer: l, entrypoint: []string{target}, createdBy: "sealyard build go " + importPath + " -> " + target}, nil
}

var majorSuffix = regexp.MustCompile(`^v[0-9]+$`)

// mainName checks that pkg is a main package and returns the binary name
// the go command would give it.
func (g goPackage) mainName(ctx context.Context, o *options) (importPath, binName string, err error) {
	var stdout bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.Name}} {{.ImportPath}}", g.pkg)
	cmd.Dir = g.dir
	env, err := baseGoEnv(o)
	if err != nil {
		return "", "", err
	}
	cmd.Env = env
	cmd.Stdout = &stdout
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("go package %q in %q: %s", g.pkg, g.dir, firstLines(stderr.String(), err))
	}
	fields := strings.Fields(stdout.String())
	if len(fields) != 2 {
		return "", "", fmt.Errorf("go package %q in %q: expected one package, go list printed %q", g.pkg, g.dir, stdout.String())
	}
	if fields[0] != "main" {
		return "", "", fmt.Errorf("go package %q is package %s, not a main package", g.pkg, fields[0])
	}
	name := path.Base(fields[1])
	if majorSuffix.MatchString(name) && path.Dir(fields[1]) != "." {
		name = path.Base(path.Dir(fields[1]))
	}
	return fields[1], name, nil
}

func goEnv(p v1.Platform, o *options) ([]string, error) {
	if p.OS != "linux" {
		return nil, fmt.Errorf("platform %s: only linux images are built", p.String())
	}
	env, err := baseGoEnv(o)
	if err != nil {
		return nil, err
	}
	env = append(env, "GOOS="+p.OS, "GOARCH="+p.Architecture, "CGO_ENABLED=0")
	if p.Architecture == "arm" {
		switch p.Variant {
		case "v5", "v6", "v7":
			env = append(env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
		case "":
		default:
			return nil, fmt.Errorf("platform %s: unknown arm variant", p.String())
		}
	}
	return env, nil
}

func runGo(ctx context.Context, dir string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s", firstLines(stderr.String(), err))
	}
	return nil
}

// firstLines keeps error output short enough to read.
func firstLines(out string, err error) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return err.Error()
	}
	lines := strings.Split(out, "\n")
	if len(lines) > 20 {
		lines = append(lines[:20], "...")
	}
	return strings.Join(lines, "\n")
}
