package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/registry"
	pipeline "github.com/sealyard/sealyard/pipelines/run"
	"github.com/sealyard/sealyard/pipelines/sign"
	"github.com/sealyard/sealyard/pipelines/verify"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

type demoFlags struct {
	source    string
	platforms string
	out       string
	db        string
	progress  string
}

func newDemoCmd(s *streams) *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on the example app, with nothing to set up",
		Long: `Run sealyard end to end on embedded defaults.

The demo starts a registry inside the process, builds a vulnerability database
from the pinned Go vulnerability database (once; it is cached), makes a signing
key on the spot, and runs the pipeline twice on the example application:

  1. as it is, with golang.org/x/text v0.3.5, whose reachable advisories the
     gate denies: the decision names the upgrade, and nothing reaches the
     registry (the demo lists the registry to show it);
  2. fixed (go.fixed.mod, and a Go toolchain without standard library
     advisories): pushed by digest, signed, attested (SBOMs, scan, provenance,
     decision), tagged, and then verified.

There is no transparency log here, so signatures are not logged; in CI,
sealyard run logs them to Rekor by default.`,
		Example: "  make demo\n  sealyard demo --source ./examples/greeter --out ./sealyard-out",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd, s, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", filepath.Join("examples", "greeter"), "the example Go program (it needs a go.fixed.mod beside its go.mod)")
	fl.StringVar(&f.platforms, "platform", "linux/amd64,linux/arm64", "platforms to build")
	fl.StringVar(&f.out, "out", "sealyard-out", "directory for the reports of both runs and the public key")
	fl.StringVar(&f.db, "db", "", "use this vulnerability database instead of building the demo's")
	fl.StringVar(&f.progress, "progress", "auto", "auto, tty, plain or quiet")
	return cmd
}

// demoToolchain is a Go release without standard library advisories in
// the pinned Go vulnerability database; the fixed build uses it.
const demoToolchain = "go1.27.3"

func runDemo(cmd *cobra.Command, s *streams, f *demoFlags) error {
	ctx := cmd.Context()
	if _, err := os.Stat(filepath.Join(f.source, "go.fixed.mod")); err != nil {
		return fmt.Errorf("--source %s: the demo builds it twice, as it is and with go.fixed.mod: %w", f.source, err)
	}
	platforms, err := image.ParsePlatforms(f.platforms)
	if err != nil {
		return err
	}
	created, _, err := cienv.SourceDateEpoch(s.getenv)
	if err != nil {
		return err
	}
	if created.IsZero() {
		created = time.Unix(1735689600, 0) // 2025-01-01: the demo is reproducible by default
	}

	// An embedded registry that serves the OCI 1.1 referrers API.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true))}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	host := l.Addr().String()
	reg, err := registry.New(registry.WithoutDockerConfig())
	if err != nil {
		return err
	}
	s.logf("① embedded registry on %s (plain HTTP, loopback only)", host)

	db, err := demoDB(ctx, s, f.db)
	if err != nil {
		return err
	}
	defer db.Close()
	st := db.Status()
	var providers []string
	for _, p := range st.Providers {
		providers = append(providers, p.Name)
	}
	s.logf("② vulnerability database %s: %d vulnerabilities from %s", st.Digest, st.Counts.Vulnerabilities, strings.Join(providers, ", "))

	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	keyDir, err := os.MkdirTemp("", "sealyard-demo-key-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(keyDir)
	password := make([]byte, 16)
	if _, err := rand.Read(password); err != nil {
		return err
	}
	password = []byte(hex.EncodeToString(password))
	priv, pub, err := sign.GenerateKeyPair(filepath.Join(keyDir, "cosign"), password)
	if err != nil {
		return err
	}
	key, err := sign.LoadKey(ctx, priv, func() ([]byte, error) { return password, nil })
	if err != nil {
		return err
	}
	pubOut := filepath.Join(f.out, "cosign.pub")
	if err := copyFile(pub, pubOut); err != nil {
		return err
	}
	s.logf("③ signing key made on the spot; its public half is %s (the private half is deleted at the end)", pubOut)

	engine, err := policy.New(ctx)
	if err != nil {
		return err
	}
	base := pipeline.Config{
		Source: f.source, Platforms: platforms, Registry: reg, DB: db, Policy: engine,
		Signer: key, SignOptions: []sign.Option{sign.WithoutTlogUnsafe()},
		Info: cienv.Detect(ctx, f.source, s.getenv), Created: created, ToolVersion: versionInfo().Version,
	}
	repo := host + "/sealyard/greeter"

	// 1. As it is: the gate must deny it, and the registry must stay empty.
	s.logf("④ run 1: %s as it is (golang.org/x/text v0.3.5)", f.source)
	vuln := base
	vuln.Destination, vuln.OutDir = repo+":vulnerable", filepath.Join(f.out, "vulnerable")
	res1, err := demoRun(ctx, s, f, vuln)
	if err != nil {
		return err
	}
	if !res1.Denied() {
		return fmt.Errorf("the gate allowed the vulnerable build; the demo expects a deny")
	}
	for _, v := range res1.Decision.Violations {
		if strings.Contains(v.Message, "golang.org/x/text") {
			s.logf("   denied: %s: %s", v.Rule, v.Message)
			break
		}
	}
	hostReg, err := name.NewRegistry(host, name.Insecure)
	if err != nil {
		return err
	}
	repos, err := remote.Catalog(ctx, hostReg, reg.RemoteOptions(ctx)...)
	if err != nil {
		return err
	}
	if len(repos) != 0 {
		return fmt.Errorf("the denied image reached the registry: it holds %v", repos)
	}
	s.logf("   the registry holds no repository: the denied image was never pushed or signed")

	// 2. Fixed: pushed, signed, attested, tagged, verified.
	s.logf("⑤ run 2: %s with go.fixed.mod and %s", f.source, demoToolchain)
	fixed := base
	fixed.Destination, fixed.OutDir = repo+":fixed", filepath.Join(f.out, "fixed")
	fixed.BuildOptions = []build.Option{build.WithGoFlags("-modfile=go.fixed.mod"), build.WithGoEnv("GOTOOLCHAIN=" + demoToolchain)}
	res2, err := demoRun(ctx, s, f, fixed)
	if err != nil {
		return err
	}
	if res2.Denied() {
		return fmt.Errorf("the gate denied the fixed build: %d violation(s); see %s", len(res2.Decision.Violations), res2.Outputs["summary"])
	}

	s.logf("⑥ verifying %s:fixed with %s", repo, pubOut)
	verifier, err := sign.LoadVerifier(ctx, pubOut)
	if err != nil {
		return err
	}
	vr, err := verify.Verify(ctx, repo+":fixed", verify.WithKey(verifier, pubOut), verify.WithRegistry(reg),
		verify.WithoutTlogUnsafe(), verify.WithRequire("sbom", "vuln", "provenance", "decision"))
	if err != nil {
		return err
	}
	if vr.Digest != res2.Digest {
		return fmt.Errorf("the tag verified as %s, but the run pushed %s", vr.Digest, res2.Digest)
	}
	kinds := map[string]int{}
	for _, a := range vr.Attestations {
		kinds[shortType(a.PredicateType)]++
	}
	s.logf("   verified: %d signature(s) and attestations %v, all by %s", len(vr.Signatures), kinds, key.String())

	fmt.Fprintf(s.out, "denied:   %s (never pushed)\n", repo+":vulnerable")
	fmt.Fprintf(s.out, "verified: %s:fixed@%s\n", repo, vr.Digest)
	fmt.Fprintf(s.out, "reports:  %s\n", filepath.Join(f.out, "vulnerable", "summary.md"))
	fmt.Fprintf(s.out, "          %s\n", filepath.Join(f.out, "fixed", "summary.md"))
	fmt.Fprintf(s.out, "          (SBOMs, findings, decisions, SARIF, GitLab reports and audit.jsonl beside them)\n")
	return nil
}

func demoRun(ctx context.Context, s *streams, f *demoFlags, cfg pipeline.Config) (*pipeline.Result, error) {
	view, err := newProgress(f.progress, s.err)
	if err != nil {
		return nil, err
	}
	cfg.Events = view.event
	view.start()
	res, err := pipeline.Run(ctx, cfg)
	view.stop()
	return res, err
}

// demoDB opens dir, or builds (once, then from the cache) a database from
// the pinned Go vulnerability database.
func demoDB(ctx context.Context, s *streams, dir string) (*vulndb.DB, error) {
	if dir != "" {
		return vulndb.Open(dir, vulndb.WithoutAgeCheckUnsafe())
	}
	grype := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/anchore/grype" {
				grype = d.Version
			}
		}
	}
	cache := filepath.Join(filepath.Dir(vulndb.DefaultDir(s.getenv)), "demo-db", vulndb.GoVulnDBVersion+"-grype-"+grype)
	if _, err := os.Stat(cache); err != nil {
		s.logf("   building the demo database from %s@%s (once; cached in %s)", vulndb.GoVulnDBModule, vulndb.GoVulnDBVersion, cache)
		osv, err := vulndb.FetchGoVulnDB(ctx, vulndb.GoVulnDBVersion)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
			return nil, err
		}
		tmp, err := os.MkdirTemp(filepath.Dir(cache), ".building-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if _, err := vulndb.Build(ctx, []string{osv}, tmp); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, cache); err != nil && !os.IsExist(err) {
			return nil, err
		}
	}
	// The demo's advisories are a pinned snapshot: their age is the point.
	return vulndb.Open(cache, vulndb.WithoutAgeCheckUnsafe())
}

func shortType(t string) string {
	for _, n := range []string{"cyclonedx", "spdx", "vuln", "slsaprovenance1", "vsa"} {
		if u, _ := predicate.ParseType(n); u == t {
			return n
		}
	}
	return t
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
