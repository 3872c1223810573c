// The sealyard Dagger module: build, inventory (syft), scan (grype), gate
// (OPA), push, sign and attest (cosign) and verify container images, with
// the same pipelines and the same outputs as the sealyard CLI.
//
// Every function is a thin layer over github.com/sealyard/sealyard's
// pipelines (through pipelines/daggerbuild). Secrets are taken only as
// Secret arguments; their values never reach a log or an error.
package main

import (
	"context"
	"fmt"

	"dagger/sealyard/internal/dagger"
)

// Sealyard is a secure container pipeline.
type Sealyard struct{}

// Build a Dockerfile with the Dagger engine.
func (m *Sealyard) Build(
	ctx context.Context,
	// The build context.
	// +defaultPath="/"
	// +ignore=[".git", "sealyard-out"]
	source *dagger.Directory,
	// The Dockerfile, relative to the context.
	// +default="Dockerfile"
	dockerfile string,
	// The build stage to stop at.
	// +optional
	target string,
	// Build arguments, KEY=VALUE.
	// +optional
	buildArgs []string,
	// The platform to build (default: the engine's).
	// +optional
	platform dagger.Platform,
) (*dagger.Container, error) {
	args, err := daggerbuildArgs(buildArgs)
	if err != nil {
		return nil, err
	}
	opts := dagger.DirectoryDockerBuildOpts{Dockerfile: dockerfile, Target: target, BuildArgs: args, Platform: platform}
	return source.DockerBuild(opts).Sync(ctx)
}

// Build a Go main package into an image with sealyard's daemonless builder:
// a static binary on scratch, running as a non-root user, reproducible
// under SOURCE_DATE_EPOCH.
func (m *Sealyard) BuildGo(
	ctx context.Context,
	// The Go module.
	// +defaultPath="/"
	// +ignore=[".git", "sealyard-out"]
	source *dagger.Directory,
	// The main package, relative to the module.
	// +default="."
	pkg string,
	// The platform to build (default: the engine's).
	// +optional
	platform dagger.Platform,
) (*dagger.Container, error) {
	s, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	src, err := s.directory(ctx, source)
	if err != nil {
		return nil, err
	}
	ctr, err := s.ws.BuildGo(ctx, src, pkg, sdkPlatform(platform))
	if err != nil {
		return nil, err
	}
	return toContainer(ctx, ctr)
}

// Write the SBOM of a container (syft): cyclonedx-json, cyclonedx-xml,
// spdx-json or syft-json.
func (m *Sealyard) Sbom(
	ctx context.Context,
	container *dagger.Container,
	// +default="cyclonedx-json"
	format string,
) (*dagger.File, error) {
	s, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	ctr, err := s.container(ctx, container)
	if err != nil {
		return nil, err
	}
	f, err := s.ws.SBOM(ctx, ctr, format)
	if err != nil {
		return nil, err
	}
	return toFile(ctx, f)
}

// Scan a container for vulnerabilities (grype) and return the findings;
// with failOn, the call fails when a finding is at or above that severity.
func (m *Sealyard) Scan(
	ctx context.Context,
	container *dagger.Container,
	// A vulnerability database directory (default: Anchore's latest, kept
	// in a cache volume).
	// +optional
	db *dagger.Directory,
	// Fail on findings at or above: negligible, low, medium, high,
	// critical, unknown.
	// +optional
	failOn string,
) (*dagger.File, error) {
	s, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	ctr, err := s.container(ctx, container)
	if err != nil {
		return nil, err
	}
	d, err := s.directory(ctx, db)
	if err != nil {
		return nil, err
	}
	f, err := s.ws.Scan(ctx, ctr, d, failOn)
	if err != nil {
		return nil, err
	}
	return toFile(ctx, f)
}

// Gate a container on policy (OPA/Rego) and return the decision; the call
// fails when the gate denies.
func (m *Sealyard) Gate(
	ctx context.Context,
	container *dagger.Container,
	// More Rego policies, added to the defaults.
	// +optional
	policies *dagger.Directory,
	// Exceptions (YAML, each with an owner, a reason and an expiry).
	// +optional
	exceptions *dagger.File,
	// An OpenVEX document.
	// +optional
	vex *dagger.File,
	// A vulnerability database directory.
	// +optional
	db *dagger.Directory,
	// enforce or audit.
	// +default="enforce"
	mode string,
) (*dagger.File, error) {
	s, err := open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	ctr, err := s.container(ctx, container)
	if err != nil {
		return nil, err
	}
	in, err := s.gateInputs(ctx, policies, exceptions, vex, db, mode)
	if err != nil {
		return nil, err
	}
	f, err := s.ws.Gate(ctx, ctr, in)
	if err != nil {
		return nil, err
	}
	return toFile(ctx, f)
}

// Push a container by digest, then move ref's tag; returns
// REPOSITORY@DIGEST.
func (m *Sealyard) Publish(
	ctx context.Context,
	container *dagger.Container,
	// REGISTRY/REPOSITORY:TAG
	ref string,
	// +optional
	registryUser string,
	// +optional
	registryPassword *dagger.Secret,
) (string, error) {
	s, err := open(ctx)
	if err != nil {
		return "", err
	}
	defer s.close()
	ctr, err := s.container(ctx, container)
	if err != nil {
		return "", err
	}
	pw, err := s.secret(ctx, registryPassword)
	if err != nil {
		return "", err
	}
	return s.ws.Publish(ctx, ctr, ref, registryUser, pw)
}

// Sign an image digest with a cosign key, as cosign does (stock cosign
// verifies it); returns the digest reference signed.
func (m *Sealyard) Sign(
	ctx context.Context,
	// REGISTRY/REPOSITORY@sha256:...
	ref string,
	// The cosign private key (PEM).
	key *dagger.Secret,
	// The key's password.
	// +optional
	password *dagger.Secret,
	// +optional
	registryUser string,
	// +optional
	registryPassword *dagger.Secret,
	// Do not record the signature in the Rekor transparency log (offline).
	// +optional
	skipTlogUnsafe bool,
) (string, error) {
	s, err := open(ctx)
	if err != nil {
		return "", err
	}
	defer s.close()
	o, err := s.signOptions(ctx, key, password, registryUser, registryPassword, skipTlogUnsafe)
	if err != nil {
		return "", err
	}
	return s.ws.Sign(ctx, ref, o)
}

// Verify an image's signature and attestations against a public key;
// returns what verified (JSON). The call fails when verification does.
func (m *Sealyard) Verify(
	ctx context.Context,
	// REGISTRY/REPOSITORY:TAG or @sha256:...
	ref string,
	// The cosign public key.
	publicKey *dagger.File,
	// Attestations that must be present: sbom, vuln, provenance, decision.
	// +optional
	require []string,
	// +optional
	registryUser string,
	// +optional
	registryPassword *dagger.Secret,
	// Accept signatures not recorded in a transparency log.
	// +optional
	skipTlogUnsafe bool,
) (string, error) {
	s, err := open(ctx)
	if err != nil {
		return "", err
	}
	defer s.close()
	pub, err := s.file(ctx, publicKey)
	if err != nil {
		return "", err
	}
	pw, err := s.secret(ctx, registryPassword)
	if err != nil {
		return "", err
	}
	return s.ws.Verify(ctx, ref, pub, require, registryUser, pw, skipTlogUnsafe)
}

// Ship runs the whole chain, as sealyard run does: build (a Go main package,
// or the Dockerfile), SBOM, scan, gate, push by digest, sign, attest (SBOMs,
// scan, provenance, decision), and only then move the tag. Returns the
// pushed REPOSITORY@DIGEST; the call fails when the gate denies, and then
// nothing was pushed or signed.
func (m *Sealyard) Ship(
	ctx context.Context,
	// +defaultPath="/"
	// +ignore=[".git", "sealyard-out"]
	source *dagger.Directory,
	// REGISTRY/REPOSITORY:TAG
	ref string,
	// The cosign private key (PEM).
	key *dagger.Secret,
	// +optional
	password *dagger.Secret,
	// The Go main package, relative to source (ignored with dockerfile).
	// +optional
	pkg string,
	// Build this Dockerfile with the engine instead of a Go package.
	// +optional
	dockerfile string,
	// +optional
	platforms []dagger.Platform,
	// +optional
	policies *dagger.Directory,
	// +optional
	exceptions *dagger.File,
	// +optional
	vex *dagger.File,
	// +optional
	db *dagger.Directory,
	// enforce or audit.
	// +default="enforce"
	gateMode string,
	// +optional
	registryUser string,
	// +optional
	registryPassword *dagger.Secret,
	// +optional
	skipTlogUnsafe bool,
) (string, error) {
	res, _, err := m.ship(ctx, source, ref, key, password, pkg, dockerfile, platforms, policies, exceptions, vex, db, gateMode, registryUser, registryPassword, skipTlogUnsafe)
	if err != nil {
		return "", err
	}
	return res, nil
}

// Report runs Ship and returns its reports (SBOMs, findings, decision,
// SARIF, GitLab reports, summary.md, audit.jsonl), whatever the gate
// decided: export them with `-o`.
func (m *Sealyard) Report(
	ctx context.Context,
	// +defaultPath="/"
	// +ignore=[".git", "sealyard-out"]
	source *dagger.Directory,
	ref string,
	key *dagger.Secret,
	// +optional
	password *dagger.Secret,
	// +optional
	pkg string,
	// +optional
	dockerfile string,
	// +optional
	platforms []dagger.Platform,
	// +optional
	policies *dagger.Directory,
	// +optional
	exceptions *dagger.File,
	// +optional
	vex *dagger.File,
	// +optional
	db *dagger.Directory,
	// +default="enforce"
	gateMode string,
	// +optional
	registryUser string,
	// +optional
	registryPassword *dagger.Secret,
	// +optional
	skipTlogUnsafe bool,
) (*dagger.Directory, error) {
	_, reports, err := m.ship(ctx, source, ref, key, password, pkg, dockerfile, platforms, policies, exceptions, vex, db, gateMode, registryUser, registryPassword, skipTlogUnsafe)
	if reports == nil {
		return nil, err
	}
	return reports, nil
}

func (m *Sealyard) ship(
	ctx context.Context, source *dagger.Directory, ref string, key, password *dagger.Secret,
	pkg, dockerfile string, platforms []dagger.Platform,
	policies *dagger.Directory, exceptions, vex *dagger.File, db *dagger.Directory, gateMode string,
	registryUser string, registryPassword *dagger.Secret, skipTlogUnsafe bool,
) (string, *dagger.Directory, error) {
	s, err := open(ctx)
	if err != nil {
		return "", nil, err
	}
	defer s.close()
	src, err := s.directory(ctx, source)
	if err != nil {
		return "", nil, err
	}
	gate, err := s.gateInputs(ctx, policies, exceptions, vex, db, gateMode)
	if err != nil {
		return "", nil, err
	}
	so, err := s.signOptions(ctx, key, password, registryUser, registryPassword, skipTlogUnsafe)
	if err != nil {
		return "", nil, err
	}
	in := shipInputs(pkg, dockerfile, platforms, gate, so)
	res, dir, err := s.ws.Ship(ctx, src, ref, in)
	if err != nil {
		return "", nil, err
	}
	reports, err := toDirectory(ctx, dir)
	if err != nil {
		return "", nil, err
	}
	if err := shipError(res); err != nil {
		return "", reports, err
	}
	if res.Pushed == "" {
		return "", reports, fmt.Errorf("the run ended without pushing")
	}
	return res.Pushed, reports, nil
}
