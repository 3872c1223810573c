package cli

import (
	"context"
	"errors"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/daggerbuild"
	"github.com/sealyard/sealyard/pipelines/image"
	pipeline "github.com/sealyard/sealyard/pipelines/run"
)

// dockerfileFlags are the flags of Dockerfile builds by a Dagger engine.
type dockerfileFlags struct {
	engine     string
	dockerfile string
	target     string
	buildArgs  []string
}

func (f *dockerfileFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.engine, "engine", "local", "local (the daemonless Go builder) or dagger (build the Dockerfile with a Dagger engine)")
	fl.StringVar(&f.dockerfile, "dockerfile", "Dockerfile", "with --engine dagger: the Dockerfile, relative to the directory")
	fl.StringVar(&f.target, "target", "", "with --engine dagger: the build stage to stop at")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "with --engine dagger: a build argument KEY=VALUE (repeatable)")
}

// build builds dir's Dockerfile with the Dagger engine the environment
// points at, or says clearly that there is none.
func (f *dockerfileFlags) build(ctx context.Context, s *streams, dir string, platforms []v1.Platform) (*image.Loaded, error) {
	args, err := daggerbuild.ParseBuildArgs(f.buildArgs)
	if err != nil {
		return nil, err
	}
	c, err := daggerbuild.Connect(ctx, s.getenv, s.err)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	s.logf("building %s/%s with the Dagger engine", dir, f.dockerfile)
	return daggerbuild.BuildDir(ctx, c, dir, daggerbuild.DockerfileOptions{
		Dockerfile: f.dockerfile, Target: f.target, BuildArgs: args, Platforms: daggerbuild.Platforms(platforms),
	}, os.TempDir())
}

// dockerfileBuilder is what run uses for a directory with a Dockerfile:
// the Dagger engine when one is reachable, and otherwise the error that
// says how to get one.
func dockerfileBuilder(s *streams, f *dockerfileFlags) pipeline.DockerfileBuilder {
	return func(ctx context.Context, dir string, platforms []v1.Platform) (image.Artifact, func(), error) {
		l, err := f.build(ctx, s, dir, platforms)
		if errors.Is(err, daggerbuild.ErrNoEngine) {
			return nil, nil, errors.Join(pipeline.ErrDockerfileNeedsEngine, err)
		}
		if err != nil {
			return nil, nil, err
		}
		return l.Artifact, func() { l.Close() }, nil
	}
}
