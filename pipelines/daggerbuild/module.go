package daggerbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"dagger.io/dagger"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/assess"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/publish"
	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/run"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/scan"
	"github.com/sealyard/sealyard/pipelines/sign"
	"github.com/sealyard/sealyard/pipelines/verify"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// HelperImage runs the few shell steps that move the vulnerability
// database in and out of its cache volume.
const HelperImage = "alpine:3.20"

// Workspace is where a Dagger module's functions meet the pipelines: a
// client of the engine, and a directory of the module's runtime that both
// the function's code and the engine (through CurrentModule) can read.
type Workspace struct {
	// C is a dagger.io/dagger client of the module's session.
	C *dagger.Client
	// Dir is a directory under the module's working directory.
	Dir string
	// Getenv reads the module runtime's environment.
	Getenv func(string) string
}

// NewWorkspace makes a fresh directory under the module's working
// directory (the process's current directory in a module).
func NewWorkspace(c *dagger.Client) (*Workspace, error) {
	dir, err := os.MkdirTemp(".", "sealyard-work-*")
	if err != nil {
		return nil, err
	}
	return &Workspace{C: c, Dir: dir, Getenv: os.Getenv}, nil
}

// File hands a file the function wrote to the engine.
func (w *Workspace) File(path string) *dagger.File {
	return w.C.CurrentModule().WorkdirFile(w.rel(path))
}

// Directory hands a directory the function wrote to the engine.
func (w *Workspace) Directory(path string) *dagger.Directory {
	return w.C.CurrentModule().Workdir(w.rel(path))
}

func (w *Workspace) rel(path string) string {
	if r, err := filepath.Rel(".", path); err == nil {
		return r
	}
	return path
}

// fetchDir copies a Dagger directory into the workspace.
func (w *Workspace) fetchDir(ctx context.Context, d *dagger.Directory, name string) (string, error) {
	p := filepath.Join(w.Dir, name)
	if _, err := d.Export(ctx, p); err != nil {
		return "", fmt.Errorf("reading the %s directory: %w", name, err)
	}
	return p, nil
}

// fetchFile copies a Dagger file into the workspace.
func (w *Workspace) fetchFile(ctx context.Context, f *dagger.File, name string) (string, error) {
	p := filepath.Join(w.Dir, name)
	if _, err := f.Export(ctx, p); err != nil {
		return "", fmt.Errorf("reading the %s file: %w", name, err)
	}
	return p, nil
}

// Image exports ctr to the workspace and loads it.
func (w *Workspace) Image(ctx context.Context, ctrs ...*dagger.Container) (*image.Loaded, error) {
	return ToArtifact(ctx, ctrs, w.Dir)
}

// Container imports an image sealyard built into the engine.
func (w *Workspace) Container(ctx context.Context, a image.Artifact) (*dagger.Container, error) {
	dir, err := os.MkdirTemp(w.Dir, "image-*")
	if err != nil {
		return nil, err
	}
	return FromArtifact(ctx, w.C, a, dir, w.File)
}

// Registry is a registry client with the credentials of a secret.
func (w *Workspace) Registry(ctx context.Context, ref, username string, password *dagger.Secret) (*registry.Client, error) {
	dst, err := publish.Destination(ref, nil)
	if err != nil {
		return nil, err
	}
	opts, err := RegistryAuth(ctx, dst.Context().RegistryStr(), username, password)
	if err != nil {
		return nil, err
	}
	return registry.New(append(opts, registry.WithEnv(w.Getenv), registry.WithoutDockerConfig())...)
}

// VulnDB opens db, or the database kept in the module's cache volume,
// updated from Anchore's published listing when a newer one is out.
func (w *Workspace) VulnDB(ctx context.Context, db *dagger.Directory) (*vulndb.DB, error) {
	if db != nil {
		p, err := w.fetchDir(ctx, db, "db")
		if err != nil {
			return nil, err
		}
		return vulndb.Open(p)
	}
	vol := DBCache(w.C, "anchore", "v6")
	helper := w.C.Container().From(HelperImage).WithMountedCache("/cache", vol)
	cached := helper.WithExec([]string{"sh", "-c", "mkdir -p /snapshot && cp -a /cache/. /snapshot/"}).Directory("/snapshot")
	p, err := w.fetchDir(ctx, cached, "db")
	if err != nil {
		return nil, err
	}
	updated, _, err := vulndb.Update(ctx, p)
	if err != nil {
		return nil, err
	}
	if updated {
		_, err := helper.WithDirectory("/incoming", w.Directory(p)).
			WithExec([]string{"sh", "-c", "find /cache -mindepth 1 -delete && cp -a /incoming/. /cache/"}).
			Sync(ctx)
		if err != nil {
			return nil, fmt.Errorf("storing the database in its cache volume: %w", err)
		}
	}
	return vulndb.Open(p)
}

// BuildGo builds the Go main package pkg of src with the daemonless
// builder (no Docker, no engine build) for one platform, or the engine's.
func (w *Workspace) BuildGo(ctx context.Context, src *dagger.Directory, pkg string, platform dagger.Platform) (*dagger.Container, error) {
	dir, err := w.fetchDir(ctx, src, "source")
	if err != nil {
		return nil, err
	}
	var opts []build.Option
	if platform != "" {
		p, err := v1.ParsePlatform(string(platform))
		if err != nil {
			return nil, err
		}
		opts = append(opts, build.WithPlatforms(*p))
	}
	created, _, err := cienv.SourceDateEpoch(w.Getenv)
	if err != nil {
		return nil, err
	}
	if !created.IsZero() {
		opts = append(opts, build.WithCreated(created))
	}
	opts = append(opts, build.WithSourceInfo(cienv.Detect(ctx, dir, w.Getenv)))
	a, err := build.Build(ctx, []build.Source{build.GoPackage(dir, nonEmpty(pkg, "."))}, opts...)
	if err != nil {
		return nil, err
	}
	return w.Container(ctx, a)
}

// SBOM catalogs ctr and returns the document in format.
func (w *Workspace) SBOM(ctx context.Context, ctr *dagger.Container, format string) (*dagger.File, error) {
	f, err := sbom.ParseFormat(nonEmpty(format, "cyclonedx-json"))
	if err != nil {
		return nil, err
	}
	doc, err := w.catalog(ctx, ctr)
	if err != nil {
		return nil, err
	}
	created, _, err := cienv.SourceDateEpoch(w.Getenv)
	if err != nil {
		return nil, err
	}
	data, err := sbom.EncodeBytes(doc, f, created)
	if err != nil {
		return nil, err
	}
	return w.write("sbom."+string(f), data)
}

func (w *Workspace) catalog(ctx context.Context, ctr *dagger.Container) (*sbom.Document, error) {
	l, err := w.Image(ctx, ctr)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	img, ok := l.Artifact.(v1.Image)
	if !ok {
		return nil, fmt.Errorf("the container exported as an index; catalog one platform at a time")
	}
	return sbom.Generate(ctx, img, sbom.WithName("container"))
}

// ErrFailOn is returned when a scan finds what failOn names.
var ErrFailOn = errors.New("findings at or above the fail-on severity")

// Scan catalogs and scans ctr; the findings document is returned even
// when failOn is met, and the error then says so.
func (w *Workspace) Scan(ctx context.Context, ctr *dagger.Container, db *dagger.Directory, failOn string) (*dagger.File, error) {
	var threshold string
	if failOn != "" {
		s, err := facts.ParseSeverity(failOn)
		if err != nil {
			return nil, err
		}
		threshold = s
	}
	doc, err := w.catalog(ctx, ctr)
	if err != nil {
		return nil, err
	}
	d, err := w.VulnDB(ctx, db)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	rep, err := scan.Scan(ctx, scan.FromDocument(doc), d)
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	out, err := w.write("findings.json", data)
	if err != nil {
		return nil, err
	}
	if threshold != "" {
		for _, f := range rep.Findings {
			if facts.AtOrAbove(f.Severity, threshold) {
				return out, fmt.Errorf("%w (%s): %s in %s %s", ErrFailOn, threshold, f.ID, f.Package.Name, f.Package.Version)
			}
		}
	}
	return out, nil
}

// GateInputs are the optional inputs of a gate.
type GateInputs struct {
	Policies   *dagger.Directory
	Exceptions *dagger.File
	VEX        *dagger.File
	DB         *dagger.Directory
	Mode       string
}

// Gate decides on ctr and returns the decision document; a deny returns
// the document and an error that names the violations.
func (w *Workspace) Gate(ctx context.Context, ctr *dagger.Container, in GateInputs) (*dagger.File, error) {
	engine, gopts, err := w.policy(ctx, in)
	if err != nil {
		return nil, err
	}
	l, err := w.Image(ctx, ctr)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	d, err := w.VulnDB(ctx, in.DB)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	// The same assembly as sealyard gate: platforms cataloged
	// concurrently, each scanned.
	sc, err := assess.Image(ctx, "container", l.Artifact, d, cienv.Detect(ctx, ".", w.Getenv), sbom.WithName("container"))
	if err != nil {
		return nil, err
	}
	pin := sc.Input
	dec, _, err := engine.Gate(ctx, pin, append(gopts, policy.WithNow(time.Now()))...)
	if err != nil {
		return nil, err
	}
	data, err := facts.Encode(dec)
	if err != nil {
		return nil, err
	}
	out, err := w.write("decision.json", data)
	if err != nil {
		return nil, err
	}
	if !dec.Allowed() {
		return out, deniedError(dec)
	}
	return out, nil
}

func deniedError(d *facts.Decision) error {
	msg := fmt.Sprintf("the gate denied the image: %d violation(s)", len(d.Violations))
	for i, v := range d.Violations {
		if i == 3 {
			msg += fmt.Sprintf("; and %d more", len(d.Violations)-3)
			break
		}
		msg += "; " + v.Rule + ": " + v.Message
	}
	return errors.New(msg)
}

func (w *Workspace) policy(ctx context.Context, in GateInputs) (*policy.Engine, []policy.GateOption, error) {
	var opts []policy.Option
	if in.Policies != nil {
		p, err := w.fetchDir(ctx, in.Policies, "policies")
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, policy.WithPolicyDir(p))
	}
	engine, err := policy.New(ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	mode := policy.Enforce
	switch in.Mode {
	case "", string(policy.Enforce):
	case string(policy.Audit):
		mode = policy.Audit
	default:
		return nil, nil, fmt.Errorf("gate mode %q: want enforce or audit", in.Mode)
	}
	gopts := []policy.GateOption{policy.WithMode(mode)}
	if in.Exceptions != nil {
		p, err := w.fetchFile(ctx, in.Exceptions, "exceptions.yaml")
		if err != nil {
			return nil, nil, err
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		ex, err := policy.ParseExceptions(f, "exceptions")
		if err != nil {
			return nil, nil, err
		}
		gopts = append(gopts, policy.WithExceptions(ex...))
	}
	if in.VEX != nil {
		p, err := w.fetchFile(ctx, in.VEX, "vex.json")
		if err != nil {
			return nil, nil, err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		doc, err := policy.ParseVEX(data, "vex")
		if err != nil {
			return nil, nil, err
		}
		gopts = append(gopts, policy.WithVEX(doc))
	}
	return engine, gopts, nil
}

// Publish pushes ctr by digest and moves ref's tag; it returns
// REPOSITORY@DIGEST.
func (w *Workspace) Publish(ctx context.Context, ctr *dagger.Container, ref, username string, password *dagger.Secret) (string, error) {
	reg, err := w.Registry(ctx, ref, username, password)
	if err != nil {
		return "", err
	}
	l, err := w.Image(ctx, ctr)
	if err != nil {
		return "", err
	}
	defer l.Close()
	dst, err := publish.Destination(ref, reg)
	if err != nil {
		return "", err
	}
	d, err := publish.Push(ctx, l.Artifact, dst.Context().String(), publish.WithRegistry(reg))
	if err != nil {
		return "", err
	}
	if _, err := publish.Tag(ctx, d, publish.TagsOf(dst), publish.WithRegistry(reg)); err != nil {
		return "", err
	}
	return d.String(), nil
}

// SignOptions are the options of Sign and Ship.
type SignOptions struct {
	Key, Password      *dagger.Secret
	RegistryUsername   string
	RegistryPassword   *dagger.Secret
	SkipTlogUnsafe     bool
	TransparencyLogURL string
}

func (o SignOptions) sign() []sign.Option {
	var opts []sign.Option
	if o.TransparencyLogURL != "" {
		opts = append(opts, sign.WithRekorURL(o.TransparencyLogURL))
	}
	if o.SkipTlogUnsafe {
		opts = append(opts, sign.WithoutTlogUnsafe())
	}
	return opts
}

// Sign signs the image at ref, which must name a digest (signatures bind
// to digests, never to tags), with the key secret.
func (w *Workspace) Sign(ctx context.Context, ref string, o SignOptions) (string, error) {
	reg, err := w.Registry(ctx, ref, o.RegistryUsername, o.RegistryPassword)
	if err != nil {
		return "", err
	}
	key, err := SigningKey(ctx, o.Key, o.Password)
	if err != nil {
		return "", err
	}
	r, err := publish.Destination(ref, reg)
	if err != nil {
		return "", err
	}
	d, ok := r.(name.Digest)
	if !ok {
		return "", fmt.Errorf("%q names a tag; sign a digest (REPOSITORY@sha256:..., as publish returns it)", ref)
	}
	if _, err := sign.Image(ctx, d, key, append([]sign.Option{sign.WithRegistry(reg)}, o.sign()...)...); err != nil {
		return "", err
	}
	return d.String(), nil
}

// Verify checks the signature and the attestations at ref against the
// public key and returns what verified, as JSON.
func (w *Workspace) Verify(ctx context.Context, ref string, publicKey *dagger.File, require []string, username string, password *dagger.Secret, skipTlogUnsafe bool) (string, error) {
	reg, err := w.Registry(ctx, ref, username, password)
	if err != nil {
		return "", err
	}
	p, err := w.fetchFile(ctx, publicKey, "cosign.pub")
	if err != nil {
		return "", err
	}
	v, err := sign.LoadVerifier(ctx, p)
	if err != nil {
		return "", err
	}
	opts := []verify.Option{verify.WithKey(v, "the public key"), verify.WithRegistry(reg), verify.WithRequire(require...)}
	if skipTlogUnsafe {
		opts = append(opts, verify.WithoutTlogUnsafe())
	}
	res, err := verify.Verify(ctx, ref, opts...)
	if err != nil {
		return "", err
	}
	out, err := json.MarshalIndent(res, "", "  ")
	return string(out), err
}

// ShipInputs are what Ship takes besides the source and the destination.
type ShipInputs struct {
	Package    string
	Dockerfile string
	Platforms  []dagger.Platform
	Gate       GateInputs
	Sign       SignOptions
}

// Ship runs the whole chain (sealyard run) on src: a Go main package, or
// a Dockerfile built by the engine. It returns the run's result and the
// reports directory; a deny is in the result, not an error.
func (w *Workspace) Ship(ctx context.Context, src *dagger.Directory, ref string, in ShipInputs) (*run.Result, *dagger.Directory, error) {
	reg, err := w.Registry(ctx, ref, in.Sign.RegistryUsername, in.Sign.RegistryPassword)
	if err != nil {
		return nil, nil, err
	}
	key, err := SigningKey(ctx, in.Sign.Key, in.Sign.Password)
	if err != nil {
		return nil, nil, err
	}
	engine, gopts, err := w.policy(ctx, in.Gate)
	if err != nil {
		return nil, nil, err
	}
	db, err := w.VulnDB(ctx, in.Gate.DB)
	if err != nil {
		return nil, nil, err
	}
	defer db.Close()
	dir, err := w.fetchDir(ctx, src, "source")
	if err != nil {
		return nil, nil, err
	}
	var platforms []v1.Platform
	for _, p := range in.Platforms {
		pp, err := v1.ParsePlatform(string(p))
		if err != nil {
			return nil, nil, err
		}
		platforms = append(platforms, *pp)
	}
	created, _, err := cienv.SourceDateEpoch(w.Getenv)
	if err != nil {
		return nil, nil, err
	}
	out := filepath.Join(w.Dir, "reports")
	source := filepath.Join(dir, nonEmpty(in.Package, "."))
	if in.Dockerfile != "" {
		source = dir
	}
	cfg := run.Config{
		Source: source, Destination: ref, Platforms: platforms, Registry: reg,
		DB: db, Policy: engine, GateOptions: gopts, Signer: key, SignOptions: in.Sign.sign(),
		OutDir: out, Info: cienv.Detect(ctx, dir, w.Getenv), Created: created, ToolVersion: "dagger",
		Dockerfile: func(ctx context.Context, _ string, ps []v1.Platform) (image.Artifact, func(), error) {
			l, err := ToArtifact(ctx, DockerBuild(src, DockerfileOptions{Dockerfile: nonEmpty(in.Dockerfile, "Dockerfile"), Platforms: Platforms(ps)}), w.Dir)
			if err != nil {
				return nil, nil, err
			}
			return l.Artifact, func() { l.Close() }, nil
		},
	}
	res, err := run.Run(ctx, cfg)
	if err != nil {
		return res, nil, err
	}
	return res, w.Directory(out), nil
}

// ShipError is the error Ship's callers return for a denied run.
func ShipError(res *run.Result) error {
	if res == nil || !res.Denied() {
		return nil
	}
	return deniedError(res.Decision)
}

func (w *Workspace) write(name string, data []byte) (*dagger.File, error) {
	p := filepath.Join(w.Dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return nil, err
	}
	return w.File(p), nil
}
