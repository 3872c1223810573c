package predicate

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/sealyard/sealyard/pipelines/cienv"
)

// BuildType identifies how sealyard builds images, for SLSA provenance.
const BuildType = "https://sealyard.dev/buildtypes/image/v1"

// Provenance is SLSA provenance v1.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition says what was built and from what.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   map[string]any       `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// ResourceDescriptor is an input to the build.
type ResourceDescriptor struct {
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
	Name   string            `json:"name,omitempty"`
}

// RunDetails says who built it and when.
type RunDetails struct {
	Builder  Builder       `json:"builder"`
	Metadata BuildMetadata `json:"metadata"`
}

// Builder identifies the build platform.
type Builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// BuildMetadata holds the invocation and times.
type BuildMetadata struct {
	InvocationID string    `json:"invocationId,omitempty"`
	StartedOn    time.Time `json:"startedOn,omitzero"`
	FinishedOn   time.Time `json:"finishedOn,omitzero"`
}

// ProvenanceInput is what sealyard knows of a build.
type ProvenanceInput struct {
	// Source is the source the image was built from (a Go package, a
	// directory, an image reference).
	Source string
	// Platforms are the platforms built.
	Platforms []string
	// Info is the CI system, repository and commit.
	Info cienv.Info
	// BaseName and BaseDigest identify the base image, when there is one.
	BaseName, BaseDigest string
	// ToolVersion is sealyard's version.
	ToolVersion string
	// Started and Finished bound the build.
	Started, Finished time.Time
}

// NewProvenance builds a SLSA provenance v1 predicate.
func NewProvenance(in ProvenanceInput) (json.RawMessage, error) {
	ext := map[string]any{"source": in.Source}
	if len(in.Platforms) > 0 {
		ext["platforms"] = in.Platforms
	}
	if in.Info.Ref != "" {
		ext["ref"] = in.Info.Ref
	}
	if in.Info.Workflow != "" {
		ext["workflow"] = in.Info.Workflow
	}
	p := Provenance{
		BuildDefinition: BuildDefinition{
			BuildType:          BuildType,
			ExternalParameters: ext,
			InternalParameters: map[string]any{"ciSystem": string(in.Info.System)},
		},
		RunDetails: RunDetails{
			Builder:  Builder{ID: in.Info.BuilderID, Version: map[string]string{"sealyard": in.ToolVersion}},
			Metadata: BuildMetadata{InvocationID: in.Info.InvocationID, StartedOn: in.Started.UTC(), FinishedOn: in.Finished.UTC()},
		},
	}
	if in.Info.RepoURL != "" {
		dep := ResourceDescriptor{URI: "git+" + in.Info.RepoURL, Name: "source"}
		if in.Info.Ref != "" {
			dep.URI += "@" + in.Info.Ref
		}
		if in.Info.Commit != "" {
			dep.Digest = map[string]string{"gitCommit": in.Info.Commit}
		}
		p.BuildDefinition.ResolvedDependencies = append(p.BuildDefinition.ResolvedDependencies, dep)
	}
	if in.BaseDigest != "" {
		algo, hex, _ := strings.Cut(in.BaseDigest, ":")
		uri := in.BaseName
		if uri != "" && !strings.Contains(uri, "://") {
			uri = "oci://" + strings.TrimPrefix(uri, "registry:")
		}
		p.BuildDefinition.ResolvedDependencies = append(p.BuildDefinition.ResolvedDependencies,
			ResourceDescriptor{URI: uri, Name: "base-image", Digest: map[string]string{algo: hex}})
	}
	return json.Marshal(p)
}
