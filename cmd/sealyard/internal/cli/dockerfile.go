package cli

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/image"
	pipeline "github.com/sealyard/sealyard/pipelines/run"
)

// dockerfileBuilder returns the Dockerfile builder run uses: none until a
// Dagger engine is wired in, so a Dockerfile source is a clear error.
func dockerfileBuilder(s *streams) pipeline.DockerfileBuilder {
	return func(ctx context.Context, dir string, platforms []v1.Platform) (image.Artifact, error) {
		return nil, pipeline.ErrDockerfileNeedsEngine
	}
}
