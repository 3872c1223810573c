package daggerbuild

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"dagger.io/dagger"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/image"
)

// DockerfileOptions are the knobs of a Dockerfile build.
type DockerfileOptions struct {
	// Dockerfile is the path of the Dockerfile inside the context
	// (default "Dockerfile").
	Dockerfile string
	// Target is the build stage to stop at.
	Target string
	// BuildArgs are KEY=VALUE pairs (see ParseBuildArgs).
	BuildArgs []dagger.BuildArg
	// Platforms to build; none builds the engine's own platform.
	Platforms []dagger.Platform
	// Secrets are mounted at /run/secrets/NAME during RUN steps.
	Secrets []*dagger.Secret
}

// ParseBuildArgs turns KEY=VALUE strings into build arguments.
func ParseBuildArgs(args []string) ([]dagger.BuildArg, error) {
	var out []dagger.BuildArg
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, fmt.Errorf("build argument %q: want KEY=VALUE", a)
		}
		out = append(out, dagger.BuildArg{Name: k, Value: v})
	}
	return out, nil
}

// Platforms turns sealyard platforms into Dagger's.
func Platforms(ps []v1.Platform) []dagger.Platform {
	var out []dagger.Platform
	for _, p := range ps {
		out = append(out, dagger.Platform(p.String()))
	}
	return out
}

// DockerBuild builds the Dockerfile in src, once per platform.
func DockerBuild(src *dagger.Directory, o DockerfileOptions) []*dagger.Container {
	opts := dagger.DirectoryDockerBuildOpts{Dockerfile: o.Dockerfile, Target: o.Target, BuildArgs: o.BuildArgs, Secrets: o.Secrets}
	if len(o.Platforms) == 0 {
		return []*dagger.Container{src.DockerBuild(opts)}
	}
	var out []*dagger.Container
	for _, p := range o.Platforms {
		po := opts
		po.Platform = p
		out = append(out, src.DockerBuild(po))
	}
	return out
}

// BuildDir builds the Dockerfile in the host directory dir and hands the
// result to sealyard as an image (one platform) or an index.
func BuildDir(ctx context.Context, c *dagger.Client, dir string, o DockerfileOptions, tmpDir string) (*image.Loaded, error) {
	if _, err := os.Stat(filepath.Join(dir, nonEmpty(o.Dockerfile, "Dockerfile"))); err != nil {
		return nil, fmt.Errorf("no Dockerfile to build: %w", err)
	}
	return ToArtifact(ctx, DockerBuild(c.Host().Directory(dir), o), tmpDir)
}

// ToArtifact exports containers (the platform variants of one image) as an
// OCI tarball in tmpDir and loads it, so the rest of the pipeline sees the
// engine's image unchanged. Close the result to remove the tarball.
func ToArtifact(ctx context.Context, ctrs []*dagger.Container, tmpDir string) (*image.Loaded, error) {
	if len(ctrs) == 0 {
		return nil, fmt.Errorf("no container to export")
	}
	f, err := os.CreateTemp(tmpDir, "sealyard-dagger-*.tar")
	if err != nil {
		return nil, err
	}
	path := f.Name()
	f.Close()
	opts := dagger.ContainerExportOpts{MediaTypes: dagger.ImageMediaTypesOcimediaTypes}
	if len(ctrs) > 1 {
		opts.PlatformVariants = ctrs[1:]
	}
	if _, err := ctrs[0].Export(ctx, path, opts); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("exporting the engine's image: %w", err)
	}
	l, err := image.Load(ctx, string(image.OCIArchive)+":"+path)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	l.OnClose(func() { os.Remove(path) })
	return l, nil
}

// FromArtifact hands an image built by sealyard to the engine: it writes
// an OCI tarball into dir (a directory the engine can read, such as a
// module's working directory) and imports it. open turns the tarball's
// path into a Dagger file (Host().File outside a module,
// CurrentModule().WorkdirFile inside one).
func FromArtifact(ctx context.Context, c *dagger.Client, a image.Artifact, dir string, open func(path string) *dagger.File) (*dagger.Container, error) {
	path := filepath.Join(dir, "sealyard-image.tar")
	if err := image.Write(ctx, a, string(image.OCIArchive)+":"+path); err != nil {
		return nil, err
	}
	return c.Container().Import(open(path)), nil
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
