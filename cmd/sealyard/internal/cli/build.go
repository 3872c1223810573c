package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
)

type buildFlags struct {
	base        string
	platforms   string
	dirs        []string
	entrypoint  []string
	cmd         []string
	env         []string
	workdir     string
	user        string
	expose      []string
	labels      []string
	annotations []string
	ldflags     string
	outputs     []string
	reg         registryFlags
	docker      dockerfileFlags
}

func newBuildCmd(s *streams) *cobra.Command {
	f := &buildFlags{}
	cmd := &cobra.Command{
		Use:   "build [GO-PACKAGE-DIR]",
		Short: "Build an image from a Go main package and directories, without Docker",
		Long: `Build an image without a Docker daemon.

A Go main package is compiled statically (CGO_ENABLED=0, -trimpath) into
/usr/local/bin/NAME, which becomes the entrypoint. Directories are added as
layers with --dir SRC:DEST. The base is scratch unless --base names an image.
With several --platform values the result is an image index.

With --engine dagger, the directory's Dockerfile is built by a Dagger engine
instead (one is reachable inside dagger run or dagger call, through
_EXPERIMENTAL_DAGGER_RUNNER_HOST, or by a dagger CLI on PATH), and the
engine's image is written out unchanged. Dockerfile builds are engine-only:
sealyard has no Dockerfile builder of its own, and without an engine says so
(exit 2).

Builds are reproducible: set SOURCE_DATE_EPOCH to fix the creation time
(otherwise the Unix epoch is used). Repository, commit and version annotations
come from the CI environment or git.`,
		Example: `  # a multi-platform image of a Go program, written as an OCI layout
  sealyard build ./examples/hello --platform linux/amd64,linux/arm64 -o oci-dir:out

  # a static site on a base image, loaded into Docker
  sealyard build --base oci-archive:base.tar --dir ./site:/srv/www -o docker:site:dev

  # a Dockerfile, built by a Dagger engine
  sealyard build --engine dagger --dockerfile Dockerfile --build-arg GO_VERSION=1.26 . -o oci-archive:app.tar`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd, s, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.base, "base", "", "base image reference (default scratch)")
	fl.StringVar(&f.platforms, "platform", "", "platforms to build, comma-separated (default: the base's, or linux/<host arch>)")
	fl.StringArrayVar(&f.dirs, "dir", nil, "add directory SRC at image path DEST, as SRC:DEST (repeatable)")
	fl.StringSliceVar(&f.entrypoint, "entrypoint", nil, "entrypoint (default: the Go binary)")
	fl.StringSliceVar(&f.cmd, "cmd", nil, "default arguments")
	fl.StringArrayVar(&f.env, "env", nil, "environment variable KEY=VALUE (repeatable)")
	fl.StringVar(&f.workdir, "workdir", "", "working directory")
	fl.StringVar(&f.user, "user", build.DefaultUser, "user to run as (name, uid or uid:gid)")
	fl.StringSliceVar(&f.expose, "expose", nil, "ports to expose, PORT[/tcp|udp]")
	fl.StringArrayVar(&f.labels, "label", nil, "config label KEY=VALUE (repeatable)")
	fl.StringArrayVar(&f.annotations, "annotation", nil, "manifest annotation KEY=VALUE (repeatable)")
	fl.StringVar(&f.ldflags, "ldflags", "", "go build -ldflags")
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "where to write the image: oci-dir:PATH, oci-archive:PATH, docker-archive:PATH or docker:NAME:TAG (repeatable)")
	f.reg.register(cmd)
	f.docker.register(cmd)
	return cmd
}

func runBuild(cmd *cobra.Command, s *streams, f *buildFlags, args []string) error {
	ctx := cmd.Context()
	if len(f.outputs) == 0 {
		return fmt.Errorf("nothing to write: give -o oci-dir:PATH (or another output)")
	}
	for _, o := range f.outputs {
		if _, err := image.ParseRef(o); err != nil {
			return err
		}
	}
	switch f.docker.engine {
	case "", "local":
	case "dagger":
		dir := "."
		if len(args) == 1 {
			dir = args[0]
		}
		platforms, err := image.ParsePlatforms(f.platforms)
		if err != nil {
			return err
		}
		l, err := f.docker.build(ctx, s, dir, platforms)
		if err != nil {
			return err
		}
		defer l.Close()
		return writeBuilt(ctx, s, l.Artifact, f.outputs)
	default:
		return fmt.Errorf("--engine %q: want local (the daemonless Go builder) or dagger (a Dockerfile, built by a Dagger engine)", f.docker.engine)
	}
	var srcs []build.Source
	dir := "."
	if len(args) == 1 {
		dir = args[0]
		if !hasGoFiles(dir) {
			return fmt.Errorf("%q holds no Go files; add directories with --dir SRC:DEST", dir)
		}
		srcs = append(srcs, build.GoPackage(dir, "."))
	}
	for _, d := range f.dirs {
		src, dest, ok := strings.Cut(d, ":")
		if !ok || src == "" || dest == "" {
			return fmt.Errorf("--dir %q is not SRC:DEST", d)
		}
		srcs = append(srcs, build.Directory(src, dest))
	}
	if len(srcs) == 0 {
		return fmt.Errorf("nothing to build: give a Go package directory or --dir SRC:DEST")
	}
	platforms, err := image.ParsePlatforms(f.platforms)
	if err != nil {
		return err
	}
	created, _, err := cienv.SourceDateEpoch(s.getenv)
	if err != nil {
		return err
	}
	labels, err := keyValues("--label", f.labels)
	if err != nil {
		return err
	}
	annots, err := keyValues("--annotation", f.annotations)
	if err != nil {
		return err
	}
	opts := []build.Option{
		build.WithPlatforms(platforms...),
		build.WithEnv(f.env...),
		build.WithWorkingDir(f.workdir),
		build.WithUser(f.user),
		build.WithExposedPorts(f.expose...),
		build.WithLabels(labels),
		build.WithAnnotations(annots),
		build.WithSourceInfo(cienv.Detect(ctx, dir, s.getenv)),
		build.WithLdflags(f.ldflags),
	}
	if !created.IsZero() {
		opts = append(opts, build.WithCreated(created))
	}
	if len(f.entrypoint) > 0 {
		opts = append(opts, build.WithEntrypoint(f.entrypoint...))
	}
	if cmd.Flags().Changed("cmd") {
		opts = append(opts, build.WithCmd(f.cmd...))
	}
	if f.base != "" && f.base != "scratch" {
		reg, err := f.reg.client(s, registryHost(f.base))
		if err != nil {
			return err
		}
		s.logf("loading base %s", f.base)
		base, err := image.Load(ctx, f.base, image.WithRegistry(reg))
		if err != nil {
			return err
		}
		defer base.Close()
		opts = append(opts, build.WithBase(f.base, base.Artifact))
	}
	s.logf("building %s", describeSources(srcs))
	a, err := build.Build(ctx, srcs, opts...)
	if err != nil {
		return err
	}
	return writeBuilt(ctx, s, a, f.outputs)
}

func writeBuilt(ctx context.Context, s *streams, a image.Artifact, outputs []string) error {
	digest, err := a.Digest()
	if err != nil {
		return err
	}
	for _, o := range outputs {
		s.logf("writing %s", o)
		if err := image.Write(ctx, a, o); err != nil {
			return err
		}
	}
	fmt.Fprintln(s.out, digest.String())
	return nil
}

func describeSources(srcs []build.Source) string {
	var names []string
	for _, s := range srcs {
		names = append(names, s.String())
	}
	return strings.Join(names, ", ")
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range m {
		if !strings.HasSuffix(f, "_test.go") {
			return true
		}
	}
	return false
}

func keyValues(flag string, kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q is not KEY=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

// registryHost returns the registry host of an image reference, or "" when
// it is not a registry reference.
func registryHost(ref string) string {
	r, err := image.ParseRef(ref)
	if err != nil || r.Scheme != image.Registry {
		return ""
	}
	return r.Name.Context().RegistryStr()
}
