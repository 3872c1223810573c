package run

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/secrets"
	"github.com/sealyard/sealyard/pipelines/sign"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// DefaultStageTimeout bounds a registry stage unless Config says otherwise.
const DefaultStageTimeout = 10 * time.Minute

// DockerfileBuilder builds a directory holding a Dockerfile into an image,
// and returns what releases it; the Dagger engine provides one (see
// pipelines/daggerbuild).
type DockerfileBuilder func(ctx Context, dir string, platforms []v1.Platform) (image.Artifact, func(), error)

// Config is what a run needs. Source, Destination, DB, Policy and Signer
// are required; New fills the rest with defaults.
type Config struct {
	// Source is a Go main package directory, a directory with a
	// Dockerfile, or an image reference.
	Source string
	// Destination is REGISTRY/REPOSITORY[:TAG]; the tag moves last.
	Destination string
	// Tags are more tags to move after signing.
	Tags []string
	// Platforms to build (sources) or to keep (images); empty keeps all.
	Platforms []v1.Platform
	// BaseRef names the base image: what Go builds go on ("" for
	// scratch), and for an existing image the base whose layers findings
	// are attributed to.
	BaseRef string
	// BaseUpdateRef names a newer base image: the summary says how many
	// of the findings in the base's layers updating to it clears.
	BaseUpdateRef string
	// BuildOptions are passed to the builder (entrypoint, go flags, ...).
	BuildOptions []build.Option
	// Registry reaches the destination (and any base image).
	Registry *registry.Client
	// DB is the vulnerability database.
	DB *vulndb.DB
	// Policy is the compiled gate, GateOptions its exceptions, VEX, mode.
	Policy      *policy.Engine
	GateOptions []policy.GateOption
	// Signer signs the image and its attestations; SignOptions set the
	// transparency log and referrers behaviour.
	Signer      sign.Signer
	SignOptions []sign.Option
	// OutDir receives the reports (default ./sealyard-out).
	OutDir string
	// Info describes the CI system, repository and commit.
	Info cienv.Info
	// Created is SOURCE_DATE_EPOCH: build time and document timestamps.
	Created time.Time
	// ToolVersion is sealyard's version, recorded in documents.
	ToolVersion string
	// Events receives stage progress (may be nil).
	Events func(Event)
	// Dockerfile builds Dockerfile sources; without it they are an error.
	Dockerfile DockerfileBuilder
	// UnsafeSettings names the weakening settings in force (skipped TLS
	// verification, plain HTTP, no transparency log, audit mode, custom
	// Fulcio or Rekor): they are printed in the summary and recorded in
	// audit.jsonl and the verification summary.
	UnsafeSettings []string
	// StageTimeout bounds each stage that talks to a registry (reading the
	// source, push, sign, attest, tag): past it the stage fails with a
	// deadline error instead of hanging on a stalled registry. Default
	// DefaultStageTimeout.
	StageTimeout time.Duration
	// Now is the clock (tests fix it).
	Now func() time.Time
	// Secrets configures the scan of every layer for credentials, whose
	// findings the gate judges (SY-SEC-003).
	Secrets SecretsConfig
}

// SecretsConfig configures the secrets stage.
type SecretsConfig struct {
	// Allow accepts known non-credentials by path, rule or fingerprint.
	Allow secrets.AllowList
}

func (c *Config) validate() error {
	var missing []string
	if c.Source == "" {
		missing = append(missing, "a source")
	}
	if c.Destination == "" {
		missing = append(missing, "a destination (--to)")
	}
	if c.DB == nil {
		missing = append(missing, "a vulnerability database")
	}
	if c.Policy == nil {
		missing = append(missing, "policies")
	}
	if c.Signer == nil {
		missing = append(missing, "a signer (--key or --keyless)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("a run needs %v", missing)
	}
	if c.OutDir == "" {
		c.OutDir = "sealyard-out"
	}
	if c.Registry == nil {
		r, err := registry.New()
		if err != nil {
			return err
		}
		c.Registry = r
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.StageTimeout == 0 {
		c.StageTimeout = DefaultStageTimeout
	}
	if c.StageTimeout < 0 {
		return fmt.Errorf("stage timeout %s: must be positive", c.StageTimeout)
	}
	if c.Events == nil {
		c.Events = func(Event) {}
	}
	if c.ToolVersion == "" {
		c.ToolVersion = "devel"
	}
	if c.Info.System == "" {
		c.Info.System = cienv.Local
	}
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return fmt.Errorf("output directory %q: %w", c.OutDir, err)
	}
	abs, err := filepath.Abs(c.OutDir)
	if err == nil {
		c.OutDir = abs
	}
	return nil
}

// ErrDockerfileNeedsEngine is returned for a Dockerfile source when no
// Dagger engine is reachable.
var ErrDockerfileNeedsEngine = errors.New("a directory with a Dockerfile is built by a Dagger engine, and none is reachable (start one, set _EXPERIMENTAL_DAGGER_RUNNER_HOST, or run inside dagger call)")
