package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/assess"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/publish"
	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/report"
	pipeline "github.com/sealyard/sealyard/pipelines/run"
	"github.com/sealyard/sealyard/pipelines/secrets"
	"github.com/sealyard/sealyard/pipelines/sign"
	"github.com/sealyard/sealyard/pipelines/verify"
)

type runFlags struct {
	config     string
	to         string
	tags       []string
	platforms  string
	base       string
	baseUpdate string
	out        string
	goEnv      []string
	goFlags    []string
	ldflags    string
	progress   string
	docker     dockerfileFlags
	sign       signFlags
	policy     policyFlags
	db         dbFlags

	allowUnsafe  bool
	timeout      time.Duration
	targets      string
	jobs         int
	secretsAllow []string
}

// unsafe names the weakening settings in force, for the summary, the
// audit trail and the verification summary.
func (f *runFlags) unsafe() []string {
	out := f.sign.reg.unsafe()
	if f.sign.skipTlog {
		out = append(out, "skip-tlog-unsafe")
	}
	if f.sign.fulcioURL != sign.DefaultFulcioURL {
		out = append(out, "fulcio-url="+f.sign.fulcioURL)
	}
	if f.sign.rekorURL != sign.DefaultRekorURL {
		out = append(out, "rekor-url="+f.sign.rekorURL)
	}
	if f.policy.mode == string(policy.Audit) {
		out = append(out, "gate-mode=audit")
	}
	return out
}

func newRunCmd(s *streams) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run [SOURCE] --to REGISTRY/REPOSITORY:TAG",
		Short: "Build (or load), inventory, scan, gate, push, sign, attest and tag, in one go",
		Long: `Take SOURCE to a signed, attested image in a registry: build → SBOM → scan →
secrets → gate → push → sign → attest → tag.

SOURCE is a Go main package directory (default "."), a directory with a
Dockerfile (built by a Dagger engine), or any image reference. The image is
cataloged once per platform, platforms are scanned concurrently, and the gate
decides before anything is pushed: a denied image is never pushed or signed.
The image is pushed by digest, signed and attested, and only then tagged, so
no tag points at an unsigned image even if the run dies halfway.

Reports go to --out (default ./sealyard-out): CycloneDX and SPDX SBOMs,
findings.json, secrets.json and secrets.sarif (credentials in any layer, by
place and fingerprint, never value), decision.json, sealyard.sarif, GitLab
container and dependency scanning reports, summary.md and audit.jsonl. In GitHub Actions the summary
goes to $GITHUB_STEP_SUMMARY, digest and decision to $GITHUB_OUTPUT, and
violations become ::error annotations.

Every flag can be set in sealyard.yaml (its name as the key) or as
SEALYARD_<FLAG> (--db-max-age is SEALYARD_DB_MAX_AGE); a flag beats the
environment, which beats the file.

Exit codes: 0 pushed (or allowed in audit mode), 1 the gate denied, 2 error.`,
		Example: `  sealyard run ./cmd/app --to ghcr.io/acme/app:v1.2.3 --keyless
  sealyard run . --to registry.example.com/app:dev --key cosign.key --gate-mode audit
  sealyard run oci-archive:app.tar --to 127.0.0.1:5000/app:v1 --key cosign.key --skip-tlog-unsafe --ca-file ca.pem`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd, s, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.config, "config", DefaultConfigFile, "settings file (YAML; keys are these flags' names)")
	fl.StringVar(&f.to, "to", "", "destination REGISTRY/REPOSITORY[:TAG]")
	fl.StringArrayVar(&f.tags, "tag", nil, "more tags to move once the image is signed (repeatable)")
	fl.StringVar(&f.platforms, "platform", "", "platforms to build, or to keep of an index (comma-separated)")
	fl.StringVar(&f.baseUpdate, "base-update", "", "a newer base image (with --base): the summary says how many of the findings in the base's layers updating to it clears")
	fl.StringVar(&f.base, "base", "", "base image: what Go builds go on (default scratch); for an existing image, which of its layers are the base's (findings there are fixed by updating it)")
	fl.StringVar(&f.out, "out", "sealyard-out", "directory for reports (in GitLab CI, $CI_PROJECT_DIR/sealyard-out)")
	fl.StringArrayVar(&f.goEnv, "go-env", nil, "environment for go build, KEY=VALUE (repeatable; e.g. GOTOOLCHAIN=go1.27.3)")
	fl.StringArrayVar(&f.goFlags, "go-flags", nil, "flags for go build (repeatable; e.g. -modfile=go.fixed.mod)")
	fl.StringVar(&f.ldflags, "ldflags", "", "go build -ldflags")
	fl.StringVar(&f.progress, "progress", "auto", "auto (a live view on a terminal, plain lines otherwise), tty, plain, or quiet")
	fl.StringVar(&f.targets, "targets", "", "run many images: a file of SOURCE DESTINATION lines; reports go to --out/NNN-DESTINATION, with a combined summary.md")
	fl.IntVar(&f.jobs, "jobs", 2, "with --targets, how many images run at once (memory grows with this, not with the number of targets)")
	fl.DurationVar(&f.timeout, "timeout", pipeline.DefaultStageTimeout, "deadline of each stage that talks to a registry (push, sign, attest, tag)")
	fl.BoolVar(&f.allowUnsafe, allowUnsafeFlag, false, "take settings that weaken the checks (TLS, plain HTTP, transparency log, Fulcio/Rekor URLs, audit mode) from the config file or environment too")
	fl.StringArrayVar(&f.secretsAllow, "secrets-allow", nil, "allow-list for credentials found in the image's layers: YAML (paths, rules, fingerprints) or a .gitleaksignore (repeatable; default .sealyard-secrets.yaml and .gitleaksignore when present)")
	f.sign.register(cmd)
	f.policy.register(cmd)
	f.db.register(cmd)
	f.docker.register(cmd)
	_ = cmd.Flags().MarkHidden("engine") // run picks the builder from the source
	return cmd
}

func runRun(cmd *cobra.Command, s *streams, f *runFlags, args []string) error {
	ctx := cmd.Context()
	explicit := cmd.Flags().Changed("config")
	if v := s.getenv("SEALYARD_CONFIG"); v != "" && !explicit {
		f.config, explicit = v, true
	}
	if err := applySettings(cmd, s, f.config, explicit); err != nil {
		return err
	}
	src := "."
	if len(args) == 1 {
		src = args[0]
	}
	var targets []pipeline.Target
	if f.targets != "" {
		if len(args) > 0 || f.to != "" {
			return fmt.Errorf("give --targets FILE, or SOURCE and --to, not both")
		}
		fh, err := os.Open(f.targets)
		if err != nil {
			return fmt.Errorf("targets file: %w", err)
		}
		targets, err = pipeline.ParseTargets(fh, f.targets)
		fh.Close()
		if err != nil {
			return err
		}
		// The registry of the first target receives the explicit
		// credentials; the keychain (Docker config, CI) serves the rest.
		f.to = targets[0].Destination
	}
	if f.to == "" {
		return fmt.Errorf("give --to REGISTRY/REPOSITORY:TAG (or 'to:' in %s)", f.config)
	}
	dst, err := publish.Destination(f.to, nil)
	if err != nil {
		return err
	}
	reg, err := f.sign.reg.client(s, dst.Context().RegistryStr())
	if err != nil {
		return err
	}
	platforms, err := image.ParsePlatforms(f.platforms)
	if err != nil {
		return err
	}
	created, _, err := cienv.SourceDateEpoch(s.getenv)
	if err != nil {
		return err
	}
	f.policy.imageBaseline = true
	engine, gopts, err := f.policy.engine(cmd)
	if err != nil {
		return err
	}
	db, err := f.db.open(s)
	if err != nil {
		return err
	}
	defer db.Close()
	signer, err := f.sign.signer(cmd, s)
	if err != nil {
		return err
	}
	if f.policy.baselineIsImage() {
		b, err := runBaseline(cmd, s, f, signer, reg)
		if err != nil {
			return err
		}
		gopts = append(gopts, policy.WithBaseline(b))
	}
	allow, err := secrets.LoadAllowLists(f.secretsAllow)
	if err != nil {
		return err
	}
	info := cienv.Detect(ctx, src, s.getenv)
	// In GitLab CI the reports go where the template's artifacts:reports
	// look for them: sealyard-out in the project directory.
	if dir := s.getenv("CI_PROJECT_DIR"); info.System == cienv.GitLabCI && dir != "" && !cmd.Flags().Changed("out") {
		f.out = filepath.Join(dir, "sealyard-out")
	}
	cfg := pipeline.Config{
		Source: src, Destination: f.to, Tags: f.tags, Platforms: platforms, BaseRef: f.base, BaseUpdateRef: f.baseUpdate,
		BuildOptions: []build.Option{build.WithGoEnv(f.goEnv...), build.WithGoFlags(f.goFlags...), build.WithLdflags(f.ldflags)},
		Registry:     reg, DB: db, Policy: engine, GateOptions: gopts,
		Signer: signer, SignOptions: f.sign.logOptions(), OutDir: f.out, Info: info, Created: created,
		ToolVersion: versionInfo().Version, Dockerfile: dockerfileBuilder(s, &f.docker),
		UnsafeSettings: f.unsafe(), StageTimeout: f.timeout,
		Secrets: pipeline.SecretsConfig{Allow: allow},
	}
	for _, u := range cfg.UnsafeSettings {
		s.logf("warning: unsafe setting in force: %s", u)
	}
	view, err := newProgress(f.progress, s.err)
	if err != nil {
		return err
	}
	cfg.Events = view.event
	if targets != nil {
		return runTargets(ctx, s, cfg, targets, f.jobs, view)
	}
	view.start()
	res, runErr := pipeline.Run(ctx, cfg)
	view.stop()
	if res != nil && res.Decision != nil {
		if err := ciOutputs(s, info, res); err != nil && runErr == nil {
			runErr = err
		}
	}
	if runErr != nil {
		return runErr
	}
	for _, t := range res.Tags {
		fmt.Fprintf(s.out, "%s@%s\n", t, res.Digest)
	}
	if len(res.Tags) == 0 && res.Pushed != "" {
		fmt.Fprintln(s.out, res.Pushed)
	}
	s.logf("reports in %s", f.out)
	if res.Denied() {
		return denied("denied: %d violation(s); nothing was pushed or signed. See %s", len(res.Decision.Violations), res.Outputs["summary"])
	}
	return nil
}

// runBaseline verifies --baseline REF with the run's own key: the previous
// release this signer shipped. Keyless runs name the identity to trust
// with sealyard gate --baseline REF --certificate-identity ….
func runBaseline(cmd *cobra.Command, s *streams, f *runFlags, signer sign.Signer, reg *registry.Client) (*policy.Baseline, error) {
	key, ok := signer.(*sign.Key)
	if !ok {
		return nil, fmt.Errorf("--baseline %s: a registry baseline is verified with the run's --key; with --keyless, gate with sealyard gate --baseline REF and the certificate identity", f.policy.baseline)
	}
	src, err := image.ParseRef(f.policy.baseline)
	if err != nil {
		return nil, err
	}
	opts := []verify.Option{verify.WithRegistry(reg), verify.WithKey(key.Verifier(), f.sign.key)}
	if f.sign.skipTlog {
		opts = append(opts, verify.WithoutTlogUnsafe())
	}
	b, err := assess.RegistryBaseline(cmd.Context(), src.Name.String(), opts...)
	if err != nil {
		return nil, err
	}
	s.logf("baseline: %d findings attested for %s", b.Len(), b.Source)
	return b, nil
}

// runTargets runs many images and reports each; exit 2 when any failed,
// 1 when any was denied.
func runTargets(ctx context.Context, s *streams, cfg pipeline.Config, targets []pipeline.Target, jobs int, view *progress) error {
	view.start()
	rs, err := pipeline.RunTargets(ctx, cfg, targets, jobs)
	view.stop()
	if err != nil {
		return err
	}
	failed, refused := 0, 0
	for _, r := range rs {
		switch {
		case r.Err != nil:
			failed++
			fmt.Fprintf(s.out, "%s\tfailed: %v\n", r.Target.Destination, r.Err)
		case r.Result.Denied():
			refused++
			fmt.Fprintf(s.out, "%s\tdenied\t%s\n", r.Target.Destination, r.OutDir)
		default:
			fmt.Fprintf(s.out, "%s@%s\n", r.Target.Destination, r.Result.Digest)
		}
	}
	s.logf("summary in %s", filepath.Join(cfg.OutDir, "summary.md"))
	switch {
	case failed > 0:
		return fmt.Errorf("%d of %d images failed (and %d were denied); see %s", failed, len(rs), refused, filepath.Join(cfg.OutDir, "summary.md"))
	case refused > 0:
		return denied("%d of %d images were denied; see %s", refused, len(rs), filepath.Join(cfg.OutDir, "summary.md"))
	}
	return nil
}

// ciOutputs tells the CI system about the run: in GitHub Actions the
// summary, step outputs and annotations.
func ciOutputs(s *streams, info cienv.Info, res *pipeline.Result) error {
	if info.System != cienv.GitHubActions {
		return nil
	}
	if p := s.getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendFile(p, res.Summary); err != nil {
			return fmt.Errorf("writing $GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	if p := s.getenv("GITHUB_OUTPUT"); p != "" {
		out := map[string]string{"digest": res.Digest, "decision": res.Decision.Decision, "pushed": res.Pushed}
		err := appendWith(p, func(w io.Writer) error {
			return report.GitHubOutputs(w, out, []string{"digest", "decision", "pushed"})
		})
		if err != nil {
			return fmt.Errorf("writing $GITHUB_OUTPUT: %w", err)
		}
	}
	return report.GitHubAnnotations(s.out, res.Decision)
}

func appendFile(p string, data []byte) error {
	return appendWith(p, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

func appendWith(p string, write func(io.Writer) error) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
