// The sealyard Dagger module: build, inventory (syft), scan (grype), gate
// (OPA), push, sign and attest (cosign) and verify container images.
//
// Every function runs the sealyard CLI in a container: Dagger objects
// become mounted files and flags, the CLI does the work, and its files come
// back as Dagger objects. The command lines come from internal/cmdline,
// which the module's tests and a parity test outside any engine run too,
// so `dagger call` gives what the CLI gives. The CLI is built by the engine
// from this repository (a pinned Go image, module and build caches in
// cache volumes, CGO_ENABLED=0, -trimpath), or taken from a released
// sealyard image given by digest. Secrets arrive only as Secret arguments:
// the signing key is mounted as a file, passwords are set as secret
// variables, and neither reaches an argument, a log or an error.
package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"dagger/sealyard/internal/cmdline"
	"dagger/sealyard/internal/dagger"
)

// GoImage is the Go toolchain sealyard is built and runs with (it builds
// Go packages with go build), pinned by digest.
const GoImage = "golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d"

// Sealyard is a secure container pipeline.
type Sealyard struct {
	// The sealyard source the CLI is built from.
	// +private
	SealyardSource *dagger.Directory
	// A released sealyard image to take the CLI from instead.
	// +private
	Image string
}

// New selects the sealyard CLI the functions run.
func New(
	// sealyard's own source, built into the CLI every function runs.
	// +defaultPath="/"
	// +ignore=[".git", "sealyard-out", "ci", "examples", ".github", "templates", "**/testdata", "**/*_test.go"]
	sealyardSource *dagger.Directory,
	// A released sealyard image (REGISTRY/REPOSITORY@sha256:...) whose
	// /usr/local/bin/sealyard to run instead of building from source.
	// +optional
	image string,
) (*Sealyard, error) {
	if image != "" && !strings.Contains(image, "@sha256:") {
		return nil, fmt.Errorf("image %q: give a released sealyard image by digest (REGISTRY/REPOSITORY@sha256:...), so every call runs the same CLI", image)
	}
	return &Sealyard{SealyardSource: sealyardSource, Image: image}, nil
}

// Build a Dockerfile with the Dagger engine (the only kind of build the
// sealyard CLI leaves to an engine).
func (m *Sealyard) Build(
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
	var args []dagger.BuildArg
	for _, a := range buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("build argument %q: want KEY=VALUE", a)
		}
		args = append(args, dagger.BuildArg{Name: k, Value: v})
	}
	return source.DockerBuild(dagger.DirectoryDockerBuildOpts{Dockerfile: dockerfile, Target: target, BuildArgs: args, Platform: platform}), nil
}

// Build a Go main package into an image with sealyard's daemonless builder
// (sealyard build): a static binary on scratch, running as a non-root
// user, reproducible under SOURCE_DATE_EPOCH.
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
	// SOURCE_DATE_EPOCH: the image's creation time, for reproducible
	// digests.
	// +optional
	sourceDateEpoch string,
) (*dagger.Container, error) {
	e, err := cmdline.BuildGo(pkg, string(platform), cmdline.CI{SourceDateEpoch: sourceDateEpoch})
	if err != nil {
		return nil, err
	}
	out, err := m.run(ctx, m.tool().WithMountedDirectory(cmdline.Source, source), e)
	if err != nil {
		return nil, err
	}
	return dag.Container().Import(out.File(cmdline.Out + "/image.tar")), nil
}

// Write the SBOM of a container (syft, in process): cyclonedx-json,
// cyclonedx-xml, spdx-json or syft-json.
func (m *Sealyard) Sbom(
	ctx context.Context,
	// The image to inventory.
	container *dagger.Container,
	// The SBOM format.
	// +default="cyclonedx-json"
	format string,
) (*dagger.File, error) {
	e, err := cmdline.SBOM(format)
	if err != nil {
		return nil, err
	}
	out, err := m.run(ctx, m.tool().WithMountedFile(cmdline.Image, container.AsTarball()), e)
	if err != nil {
		return nil, err
	}
	return out.File(cmdline.Out + "/sbom"), nil
}

// Scan a container for vulnerabilities (grype, in process) and return the
// findings (JSON); with failOn, the call fails when a finding is at or
// above that severity.
// +cache="never"
func (m *Sealyard) Scan(
	ctx context.Context,
	// The image to scan.
	container *dagger.Container,
	// A vulnerability database directory (default: the latest, kept in a
	// cache volume and updated first).
	// +optional
	db *dagger.Directory,
	// Refuse a database older than this (e.g. 24h; 0 accepts any age).
	// +optional
	dbMaxAge string,
	// Fail on findings at or above: negligible, low, medium, high,
	// critical, unknown.
	// +optional
	failOn string,
) (*dagger.File, error) {
	in := cmdline.Inputs{DB: db != nil, DBMaxAge: dbMaxAge}
	ctr := mountInputs(m.tool().WithMountedFile(cmdline.Image, container.AsTarball()), inputs{db: db})
	out, err := m.run(ctx, ctr, cmdline.Scan(in, failOn), in.DBUpdate())
	if err != nil {
		return nil, err
	}
	return out.File(cmdline.Out + "/findings.json"), nil
}

// Gate a container on policy (OPA/Rego) and return the decision (JSON).
// The call fails when the gate denies, with the violations in the error.
// +cache="never"
func (m *Sealyard) Gate(
	ctx context.Context,
	// The image to gate.
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
	// An allow-list for credentials found in the image's layers: YAML
	// (paths, rules, fingerprints) or a .gitleaksignore.
	// +optional
	secretsAllow *dagger.File,
	// A vulnerability database directory (default: the latest, cached).
	// +optional
	db *dagger.Directory,
	// Refuse a database older than this (0 accepts any age).
	// +optional
	dbMaxAge string,
	// enforce or audit.
	// +default="enforce"
	mode string,
	// The CI run's variables as KEY=VALUE lines (env | grep -E
	// '^(GITHUB_|CI_|GITLAB_)'): only those that describe the run are
	// used, never tokens.
	// +optional
	ciEnv *dagger.File,
) (*dagger.File, error) {
	ci, err := readCI(ctx, ciEnv, "")
	if err != nil {
		return nil, err
	}
	in := cmdline.Inputs{Policies: policies != nil, Exceptions: exceptions != nil, VEX: vex != nil, SecretsAllow: secretsAllow != nil, DB: db != nil, DBMaxAge: dbMaxAge}
	e, err := cmdline.Gate(in, mode, ci)
	if err != nil {
		return nil, err
	}
	ctr := mountInputs(m.tool().WithMountedFile(cmdline.Image, container.AsTarball()), inputs{policies, exceptions, vex, secretsAllow, db})
	if u := in.DBUpdate(); u != nil {
		ctr = ctr.WithExec(u.Args)
	}
	done, code, err := m.try(ctx, ctr, e)
	switch {
	case err != nil:
		return nil, err
	case code == exitDenied:
		table, _ := done.Stdout(ctx)
		return nil, fmt.Errorf("the gate denied the image:\n%s", strings.TrimSpace(table))
	}
	return done.File(cmdline.Out + "/decision.json"), nil
}

// Push a container by digest, then move ref's tag; returns
// REPOSITORY:TAG@DIGEST.
// +cache="never"
func (m *Sealyard) Publish(
	ctx context.Context,
	// The image to push.
	container *dagger.Container,
	// REGISTRY/REPOSITORY:TAG
	ref string,
	// The registry username.
	// +optional
	registryUser string,
	// The registry password or token.
	// +optional
	registryPassword *dagger.Secret,
) (string, error) {
	e, err := cmdline.Publish(ref, cmdline.Registry{User: registryUser, HasPassword: registryPassword != nil})
	if err != nil {
		return "", err
	}
	ctr := withSecrets(m.tool().WithMountedFile(cmdline.Image, container.AsTarball()), secrets{registryPassword: registryPassword})
	out, err := m.run(ctx, ctr, e)
	if err != nil {
		return "", err
	}
	return lastLine(ctx, out)
}

// Sign an image digest with a cosign key, as cosign does (stock cosign
// verifies it); returns the digest reference signed.
// +cache="never"
func (m *Sealyard) Sign(
	ctx context.Context,
	// REGISTRY/REPOSITORY@sha256:...
	ref string,
	// The cosign private key (PEM).
	key *dagger.Secret,
	// The key's password.
	// +optional
	password *dagger.Secret,
	// The registry username.
	// +optional
	registryUser string,
	// The registry password or token.
	// +optional
	registryPassword *dagger.Secret,
	// Do not record the signature in the Rekor transparency log (offline;
	// verifiers must then accept unlogged signatures).
	// +optional
	skipTlogUnsafe bool,
) (string, error) {
	e, err := cmdline.Sign(ref, cmdline.Signing{HasPassword: password != nil, SkipTlogUnsafe: skipTlogUnsafe}, cmdline.Registry{User: registryUser, HasPassword: registryPassword != nil})
	if err != nil {
		return "", err
	}
	out, err := m.run(ctx, withSecrets(m.tool(), secrets{key, password, registryPassword}), e)
	if err != nil {
		return "", err
	}
	return lastLine(ctx, out)
}

// Verify an image's signature and attestations against a public key;
// returns what verified (JSON). The call fails when verification does.
// +cache="never"
func (m *Sealyard) Verify(
	ctx context.Context,
	// REGISTRY/REPOSITORY:TAG or @sha256:...
	ref string,
	// The cosign public key.
	publicKey *dagger.File,
	// Attestations that must be present: sbom, vuln, provenance, decision.
	// +optional
	require []string,
	// Replay the attested decision with the default policies.
	// +optional
	gate bool,
	// A Sigstore trusted root JSON, to check the transparency log offline
	// (default: Sigstore's TUF repository).
	// +optional
	trustedRoot *dagger.File,
	// The registry username.
	// +optional
	registryUser string,
	// The registry password or token.
	// +optional
	registryPassword *dagger.Secret,
	// Accept signatures not recorded in a transparency log.
	// +optional
	skipTlogUnsafe bool,
) (string, error) {
	v := cmdline.Verify{Ref: ref, Require: require, Gate: gate, TrustedRoot: trustedRoot != nil, SkipTlogUnsafe: skipTlogUnsafe}
	e, err := v.Exec(cmdline.Registry{User: registryUser, HasPassword: registryPassword != nil})
	if err != nil {
		return "", err
	}
	ctr := withSecrets(m.tool().WithMountedFile(cmdline.PublicKey, publicKey), secrets{registryPassword: registryPassword})
	if trustedRoot != nil {
		ctr = ctr.WithMountedFile(cmdline.TrustedRoot, trustedRoot)
	}
	out, err := m.run(ctx, ctr, e)
	if err != nil {
		return "", err
	}
	return out.File(cmdline.Out + "/verify.json").Contents(ctx)
}

// Ship runs the whole chain, as sealyard run does: build (a Go main
// package, or a Dockerfile with the engine), SBOM, scan, gate, push by
// digest, sign, attest (SBOMs, scan, provenance, decision), and only then
// move the tag. Returns the pushed REPOSITORY:TAG@DIGEST; the call fails
// when the gate denies, with the summary in the error, and then nothing
// was pushed or signed.
// +cache="never"
func (m *Sealyard) Ship(
	ctx context.Context,
	// The source to build.
	// +defaultPath="/"
	// +ignore=[".git", "sealyard-out"]
	source *dagger.Directory,
	// REGISTRY/REPOSITORY:TAG
	ref string,
	// The cosign private key (PEM).
	key *dagger.Secret,
	// The key's password.
	// +optional
	password *dagger.Secret,
	// The Go main package, relative to source.
	// +default="."
	pkg string,
	// Build this Dockerfile (relative to source) with the engine instead of
	// a Go package.
	// +optional
	dockerfile string,
	// Platforms to build, e.g. linux/amd64 (default: the engine's).
	// +optional
	platforms []dagger.Platform,
	// More Rego policies, added to the defaults.
	// +optional
	policies *dagger.Directory,
	// Exceptions (YAML).
	// +optional
	exceptions *dagger.File,
	// An OpenVEX document.
	// +optional
	vex *dagger.File,
	// An allow-list for credentials found in the image's layers: YAML
	// (paths, rules, fingerprints) or a .gitleaksignore.
	// +optional
	secretsAllow *dagger.File,
	// A vulnerability database directory (default: the latest, cached).
	// +optional
	db *dagger.Directory,
	// Refuse a database older than this (0 accepts any age).
	// +optional
	dbMaxAge string,
	// enforce or audit.
	// +default="enforce"
	gateMode string,
	// The registry username.
	// +optional
	registryUser string,
	// The registry password or token.
	// +optional
	registryPassword *dagger.Secret,
	// Do not record signatures in a transparency log (offline).
	// +optional
	skipTlogUnsafe bool,
	// The CI run's variables as KEY=VALUE lines, so the provenance names
	// the same repository, commit and run as the CLI in the same job.
	// +optional
	ciEnv *dagger.File,
	// SOURCE_DATE_EPOCH, for reproducible digests and documents.
	// +optional
	sourceDateEpoch string,
) (string, error) {
	done, code, err := m.ship(ctx, shipArgs{source, ref, key, password, pkg, dockerfile, platforms, inputs{policies, exceptions, vex, secretsAllow, db}, dbMaxAge, gateMode, registryUser, registryPassword, skipTlogUnsafe, ciEnv, sourceDateEpoch})
	switch {
	case err != nil:
		return "", err
	case code == exitDenied:
		summary, _ := done.File(cmdline.Out + "/summary.md").Contents(ctx)
		return "", fmt.Errorf("the gate denied the image; nothing was pushed or signed:\n%s", strings.TrimSpace(summary))
	}
	return lastLine(ctx, done)
}

// Report runs the same chain as Ship and returns its reports directory
// (SBOMs, findings, decision, policy input, SARIF, GitLab reports,
// summary.md, audit.jsonl) whatever the gate decided: export it with
// `export --path sealyard-out`. The call fails only when the run does.
// +cache="never"
func (m *Sealyard) Report(
	ctx context.Context,
	// The source to build.
	// +defaultPath="/"
	// +ignore=[".git", "sealyard-out"]
	source *dagger.Directory,
	// REGISTRY/REPOSITORY:TAG
	ref string,
	// The cosign private key (PEM).
	key *dagger.Secret,
	// The key's password.
	// +optional
	password *dagger.Secret,
	// The Go main package, relative to source.
	// +default="."
	pkg string,
	// Build this Dockerfile with the engine instead of a Go package.
	// +optional
	dockerfile string,
	// Platforms to build (default: the engine's).
	// +optional
	platforms []dagger.Platform,
	// More Rego policies.
	// +optional
	policies *dagger.Directory,
	// Exceptions (YAML).
	// +optional
	exceptions *dagger.File,
	// An OpenVEX document.
	// +optional
	vex *dagger.File,
	// An allow-list for credentials found in the image's layers: YAML
	// (paths, rules, fingerprints) or a .gitleaksignore.
	// +optional
	secretsAllow *dagger.File,
	// A vulnerability database directory.
	// +optional
	db *dagger.Directory,
	// Refuse a database older than this (0 accepts any age).
	// +optional
	dbMaxAge string,
	// enforce or audit.
	// +default="enforce"
	gateMode string,
	// The registry username.
	// +optional
	registryUser string,
	// The registry password or token.
	// +optional
	registryPassword *dagger.Secret,
	// Do not record signatures in a transparency log (offline).
	// +optional
	skipTlogUnsafe bool,
	// The CI run's variables as KEY=VALUE lines.
	// +optional
	ciEnv *dagger.File,
	// SOURCE_DATE_EPOCH.
	// +optional
	sourceDateEpoch string,
) (*dagger.Directory, error) {
	done, _, err := m.ship(ctx, shipArgs{source, ref, key, password, pkg, dockerfile, platforms, inputs{policies, exceptions, vex, secretsAllow, db}, dbMaxAge, gateMode, registryUser, registryPassword, skipTlogUnsafe, ciEnv, sourceDateEpoch})
	if err != nil {
		return nil, err
	}
	return done.Directory(cmdline.Out), nil
}

// shipArgs are Ship's and Report's arguments.
type shipArgs struct {
	source             *dagger.Directory
	ref                string
	key, password      *dagger.Secret
	pkg, dockerfile    string
	platforms          []dagger.Platform
	in                 inputs
	dbMaxAge, gateMode string
	registryUser       string
	registryPassword   *dagger.Secret
	skipTlogUnsafe     bool
	ciEnv              *dagger.File
	sourceDateEpoch    string
}

// ship runs sealyard run and returns the finished container and its exit
// code (0 allowed, 1 denied); any other outcome is an error.
func (m *Sealyard) ship(ctx context.Context, a shipArgs) (*dagger.Container, int, error) {
	ci, err := readCI(ctx, a.ciEnv, a.sourceDateEpoch)
	if err != nil {
		return nil, 0, err
	}
	s := cmdline.Ship{
		Ref: a.ref, Pkg: a.pkg, FromImage: a.dockerfile != "", GateMode: a.gateMode,
		Inputs:   cmdline.Inputs{Policies: a.in.policies != nil, Exceptions: a.in.exceptions != nil, VEX: a.in.vex != nil, SecretsAllow: a.in.secretsAllow != nil, DB: a.in.db != nil, DBMaxAge: a.dbMaxAge},
		Signing:  cmdline.Signing{HasPassword: a.password != nil, SkipTlogUnsafe: a.skipTlogUnsafe},
		Registry: cmdline.Registry{User: a.registryUser, HasPassword: a.registryPassword != nil},
		CI:       ci,
	}
	for _, p := range a.platforms {
		s.Platforms = append(s.Platforms, string(p))
	}
	e, err := s.Exec()
	if err != nil {
		return nil, 0, err
	}
	ctr := mountInputs(withSecrets(m.tool(), secrets{a.key, a.password, a.registryPassword}), a.in)
	if s.FromImage {
		ctr = ctr.WithMountedFile(cmdline.Image, dockerImage(a.source, a.dockerfile, a.platforms))
	} else {
		ctr = ctr.WithMountedDirectory(cmdline.Source, a.source)
	}
	if u := s.Inputs.DBUpdate(); u != nil {
		ctr = ctr.WithExec(u.Args)
	}
	return m.try(ctx, ctr, e)
}

// dockerImage builds a Dockerfile for each platform and returns the image
// (an index when several) as an OCI archive.
func dockerImage(src *dagger.Directory, dockerfile string, platforms []dagger.Platform) *dagger.File {
	if len(platforms) == 0 {
		return src.DockerBuild(dagger.DirectoryDockerBuildOpts{Dockerfile: dockerfile}).AsTarball()
	}
	var variants []*dagger.Container
	for _, p := range platforms {
		variants = append(variants, src.DockerBuild(dagger.DirectoryDockerBuildOpts{Dockerfile: dockerfile, Platform: p}))
	}
	return dag.Container().AsTarball(dagger.ContainerAsTarballOpts{PlatformVariants: variants})
}

// tool is the container sealyard runs in: the pinned Go image (sealyard
// builds Go packages with go build), Go module and build caches and the
// database cache in cache volumes, and the CLI at /usr/local/bin.
func (m *Sealyard) tool() *dagger.Container {
	base := dag.Container().From(GoImage).
		WithMountedCache("/go/pkg/mod", dag.CacheVolume("sealyard-go-mod")).
		WithMountedCache("/root/.cache/go-build", dag.CacheVolume("sealyard-go-build")).
		WithMountedCache(cmdline.DBCache, dag.CacheVolume("sealyard-db")).
		WithEnvVariable("CGO_ENABLED", "0").
		WithWorkdir(cmdline.Work)
	var bin *dagger.File
	if m.Image != "" {
		bin = dag.Container().From(m.Image).File("/usr/local/bin/sealyard")
	} else {
		bin = base.
			WithMountedDirectory("/src/sealyard", m.SealyardSource).
			WithWorkdir("/src/sealyard").
			WithExec([]string{"go", "build", "-trimpath", "-o", "/out/sealyard", "./cmd/sealyard"}).
			File("/out/sealyard")
	}
	return base.WithFile("/usr/local/bin/sealyard", bin, dagger.ContainerWithFileOpts{Permissions: 0o755})
}

// inputs are the optional policy and database inputs.
type inputs struct {
	policies                      *dagger.Directory
	exceptions, vex, secretsAllow *dagger.File
	db                            *dagger.Directory
}

func mountInputs(c *dagger.Container, in inputs) *dagger.Container {
	if in.policies != nil {
		c = c.WithMountedDirectory(cmdline.Policies, in.policies)
	}
	if in.exceptions != nil {
		c = c.WithMountedFile(cmdline.Exceptions, in.exceptions)
	}
	if in.vex != nil {
		c = c.WithMountedFile(cmdline.VEX, in.vex)
	}
	if in.secretsAllow != nil {
		c = c.WithMountedFile(cmdline.SecretsAllow, in.secretsAllow)
	}
	if in.db != nil {
		c = c.WithMountedDirectory(cmdline.DB, in.db)
	}
	return c
}

// secrets are mounted as a file (the key) or set as secret variables
// (passwords): never arguments.
type secrets struct {
	key, password, registryPassword *dagger.Secret
}

func withSecrets(c *dagger.Container, s secrets) *dagger.Container {
	if s.key != nil {
		c = c.WithMountedSecret(cmdline.Key, s.key)
	}
	if s.password != nil {
		c = c.WithSecretVariable(cmdline.PasswordEnv, s.password)
	}
	if s.registryPassword != nil {
		c = c.WithSecretVariable(cmdline.RegistryPasswordEnv, s.registryPassword)
	}
	return c
}

const exitDenied = 1

// run runs the command lines in order (setup commands after the first are
// run before it) and fails on any non-zero exit.
func (m *Sealyard) run(ctx context.Context, c *dagger.Container, e cmdline.Exec, setup ...*cmdline.Exec) (*dagger.Container, error) {
	for _, s := range setup {
		if s != nil {
			c = c.WithExec(s.Args)
		}
	}
	done, code, err := m.try(ctx, c, e)
	if err == nil && code != 0 {
		err = fmt.Errorf("%s exited %d", e.Args[1], code)
	}
	return done, err
}

// try runs the command line and returns its exit code when it is 0 or 1
// (a denial is data); exit 2, an error sealyard reported, comes back as
// an error with sealyard's message.
func (m *Sealyard) try(ctx context.Context, c *dagger.Container, e cmdline.Exec) (*dagger.Container, int, error) {
	env := e.Env
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c = c.WithEnvVariable(k, env[k])
	}
	done := c.WithExec(e.Args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := done.ExitCode(ctx)
	if err != nil {
		return nil, 0, err
	}
	if code != 0 && code != exitDenied {
		stderr, _ := done.Stderr(ctx)
		return nil, code, fmt.Errorf("sealyard %s failed (exit %d): %s", e.Args[1], code, strings.TrimSpace(stderr))
	}
	return done, code, nil
}

// readCI reads the CI identity the caller passed.
func readCI(ctx context.Context, f *dagger.File, sourceDateEpoch string) (cmdline.CI, error) {
	ci := cmdline.CI{}
	if f != nil {
		text, err := f.Contents(ctx)
		if err != nil {
			return ci, err
		}
		if ci, err = cmdline.ParseCIEnv(text); err != nil {
			return ci, err
		}
	}
	if sourceDateEpoch != "" {
		ci.SourceDateEpoch = sourceDateEpoch
	}
	return ci, nil
}

func lastLine(ctx context.Context, c *dagger.Container) (string, error) {
	out, err := c.Stdout(ctx)
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[len(lines)-1] == "" {
		return "", errors.New("sealyard printed no reference")
	}
	return lines[len(lines)-1], nil
}
