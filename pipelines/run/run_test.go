package run

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sealyard/sealyard/internal/testutil/distribution"
	"github.com/sealyard/sealyard/internal/testutil/schemas"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/assess"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/sign"
	"github.com/sealyard/sealyard/pipelines/verify"
)

// created is the SOURCE_DATE_EPOCH of every test run.
var created = time.Unix(1750000000, 0).UTC()

type fixture struct {
	reg    *distribution.Registry
	client *registry.Client
	cfg    Config
	pub    string
}

// setup starts a Distribution registry (TLS, htpasswd) and returns a
// config that ships the example greeter to it, signed by a fresh key, with
// the database built from the pinned Go advisories. Logging to a
// transparency log is off: there is none here.
func setup(t testing.TB) *fixture {
	t.Helper()
	reg := distribution.Start(t)
	client := reg.Client(t)
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub, err := sign.GenerateKeyPair(filepath.Join(dir, "cosign"), []byte("run-test-password"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := sign.LoadKey(context.Background(), priv, func() ([]byte, error) { return []byte("run-test-password"), nil })
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{reg: reg, client: client, pub: pub, cfg: Config{
		Registry: client, DB: vulnfixture.OpenDB(t), Policy: engine,
		Signer: key, SignOptions: []sign.Option{sign.WithoutTlogUnsafe()},
		Created: created, ToolVersion: "test", Info: cienv.Info{System: cienv.Local},
	}}
}

// greeter copies the example application to a new directory, so two runs
// build the same inputs in different places.
func greeter(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "greeter")
	if err := os.CopyFS(dst, os.DirFS("../../examples/greeter")); err != nil {
		t.Fatal(err)
	}
	return dst
}

// fixedBuild builds the greeter with the upgraded golang.org/x/text and a
// Go toolchain without standard library advisories.
var fixedBuild = []build.Option{build.WithGoFlags("-modfile=go.fixed.mod"), build.WithGoEnv("GOTOOLCHAIN=go1.27.3")}

func (f *fixture) config(t *testing.T, src, repo string, fixed bool) Config {
	c := f.cfg
	c.Source = src
	c.Destination = f.reg.Host + "/" + repo + ":v1"
	c.OutDir = t.TempDir()
	if fixed {
		c.BuildOptions = fixedBuild
	}
	return c
}

func TestDeniedImageIsNeitherPushedNorSigned(t *testing.T) {
	f := setup(t)
	var events []Event
	cfg := f.config(t, greeter(t), "greeter", false)
	cfg.Events = func(e Event) { events = append(events, e) }
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Denied() || res.Pushed != "" || res.Signer != "" || len(res.Tags) != 0 {
		t.Fatalf("result %+v, want denied and nothing pushed", res)
	}
	// The violation names the fix for the reachable golang.org/x/text
	// advisory.
	found := false
	for _, v := range res.Decision.Violations {
		if v.Rule == "SY-VULN-001" && strings.Contains(v.Message, "golang.org/x/text") && strings.Contains(v.Message, "0.3.5") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no SY-VULN-001 violation naming the golang.org/x/text upgrade: %+v", res.Decision.Violations)
	}
	// Nothing reached the registry.
	host, err := name.NewRegistry(f.reg.Host)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := remote.Catalog(context.Background(), host, f.client.RemoteOptions(context.Background())...)
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 0 {
		t.Fatalf("the registry holds %v after a denied run", repos)
	}
	audit := readAudit(t, res.Outputs["audit log"])
	for _, s := range []string{"push", "sign", "attest", "tag"} {
		if audit[s].State != Skipped {
			t.Fatalf("stage %s is %q in the audit log, want skipped", s, audit[s].State)
		}
	}
	if audit["gate"].Decision != "deny" || audit["gate"].Inputs["db"] == "" || audit["gate"].Inputs["policy"] == "" {
		t.Fatalf("gate audit entry %+v", audit["gate"])
	}
	validateOutputs(t, res)
	if !bytes.Contains(res.Summary, []byte("denied")) || !bytes.Contains(res.Summary, []byte("golang.org/x/text")) {
		t.Fatalf("summary does not say deny and why:\n%s", res.Summary)
	}
	var started, ended int
	for _, e := range events {
		switch e.State {
		case Started:
			started++
		case Done, Failed:
			ended++
		}
	}
	if started == 0 || started != ended {
		t.Fatalf("%d stages started and %d ended", started, ended)
	}
}

func TestAllowedImageShipsSignedAttestedThenTagged(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	first, err := Run(ctx, f.config(t, greeter(t), "greeter", true))
	if err != nil {
		t.Fatal(err)
	}
	if first.Denied() {
		t.Fatalf("the fixed greeter was denied: %+v", first.Decision.Violations)
	}
	want := f.reg.Host + "/greeter@" + first.Digest
	// The HTML report says it is signed and what is attested.
	page := string(mustRead(t, first.Outputs["HTML report"]))
	if !strings.Contains(page, "signed by "+first.Signer) || !strings.Contains(page, predicate.VSA) || !strings.Contains(page, predicate.SLSAProvenance1) {
		t.Fatalf("the HTML report lacks the signature or the attestations (signer %s)", first.Signer)
	}
	if first.Pushed != want || len(first.Tags) != 1 || first.Tags[0] != f.reg.Host+"/greeter:v1" {
		t.Fatalf("pushed %q tags %v, want %s tagged v1", first.Pushed, first.Tags, want)
	}
	validateOutputs(t, first)

	// The tag points at the digest, which verifies with every attestation,
	// and the attested decision is the one written to decision.json.
	v, err := sign.LoadVerifier(ctx, f.pub)
	if err != nil {
		t.Fatal(err)
	}
	vr, err := verify.Verify(ctx, f.reg.Host+"/greeter:v1", verify.WithKey(v, f.pub), verify.WithRegistry(f.client),
		verify.WithoutTlogUnsafe(), verify.WithRequire("sbom", "vuln", "provenance", "decision"))
	if err != nil {
		t.Fatal(err)
	}
	if vr.Digest != first.Digest {
		t.Fatalf("the tag verified as %s, want %s", vr.Digest, first.Digest)
	}
	vsa := vr.Attested(predicate.VSA)
	if len(vsa) != 1 {
		t.Fatalf("%d VSAs", len(vsa))
	}
	var summary predicate.VerificationSummary
	if err := json.Unmarshal(vsa[0].Predicate, &summary); err != nil {
		t.Fatal(err)
	}
	if summary.VerificationResult != "PASSED" || summary.Policy.Digest["sha256"] == "" {
		t.Fatalf("VSA %+v", summary)
	}

	// Stages ran in order: push, sign, attest, and the tag last.
	order := auditOrder(t, first.Outputs["audit log"])
	if !inOrder(order, "gate", "push", "sign", "attest", "tag") {
		t.Fatalf("stage order %v", order)
	}

	// A second run of the same inputs, built in another directory, gives
	// the same digest, SBOM bytes and decision, and adds no signature.
	second, err := Run(ctx, f.config(t, greeter(t), "greeter", true))
	if err != nil {
		t.Fatal(err)
	}
	if second.Digest != first.Digest {
		t.Fatalf("digests differ: %s then %s", first.Digest, second.Digest)
	}
	for _, kind := range []string{"SBOM (CycloneDX) linux/amd64", "SBOM (SPDX) linux/amd64", "decision", "findings"} {
		a, b := mustRead(t, first.Outputs[kind]), mustRead(t, second.Outputs[kind])
		if !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two runs of the same inputs", kind)
		}
	}
	d, err := name.NewDigest(want)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := sign.Signatures(ctx, d, sign.WithRegistry(f.client))
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 1 {
		t.Fatalf("%d signatures after two runs, want 1", len(sigs))
	}
}

func TestFailedSigningLeavesNoTag(t *testing.T) {
	f := setup(t)
	cfg := f.config(t, greeter(t), "greeter", true)
	// Signing needs the transparency log, which cannot be reached: the run
	// dies between the push and the signature.
	cfg.SignOptions = []sign.Option{sign.WithRekorURL("http://127.0.0.1:1")}
	res, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatal("the run succeeded without a reachable transparency log")
	}
	if res.Pushed == "" {
		t.Fatalf("the run stopped before the push (%v); this test needs it to stop after", err)
	}
	repo, err := name.NewRepository(f.reg.Host + "/greeter")
	if err != nil {
		t.Fatal(err)
	}
	d, err := name.NewDigest(res.Pushed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(d, f.client.RemoteOptions(context.Background())...); err != nil {
		t.Fatalf("the pushed image is not in the registry: %v", err)
	}
	// Distribution answers NAME_UNKNOWN for a repository without tags.
	tags, err := remote.List(repo, f.client.RemoteOptions(context.Background())...)
	if err != nil && !strings.Contains(err.Error(), "NAME_UNKNOWN") {
		t.Fatal(err)
	}
	for _, tag := range tags {
		if tag == "v1" {
			t.Fatalf("the tag moved although signing failed (tags %v)", tags)
		}
	}
	audit := readAudit(t, res.Outputs["audit log"])
	if audit["sign"].State != Failed || !strings.Contains(audit["sign"].Error, "127.0.0.1:1") {
		t.Fatalf("sign audit entry %+v", audit["sign"])
	}
}

func TestAuditModeShipsAndSaysSo(t *testing.T) {
	f := setup(t)
	cfg := f.config(t, greeter(t), "greeter", false)
	cfg.GateOptions = []policy.GateOption{policy.WithMode(facts.Audit)}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Denied() || res.Pushed == "" || res.Decision.Verdict != "fail" || len(res.Decision.Violations) == 0 {
		t.Fatalf("audit mode: decision %s verdict %s, %d violations, pushed %q", res.Decision.Decision, res.Decision.Verdict, len(res.Decision.Violations), res.Pushed)
	}
	ctx := context.Background()
	v, _ := sign.LoadVerifier(ctx, f.pub)
	base := []verify.Option{verify.WithKey(v, f.pub), verify.WithRegistry(f.client), verify.WithoutTlogUnsafe(), verify.WithRequire("decision")}
	// The image shipped, but its signed decision says FAILED: verifying
	// it as gated must fail.
	_, err = verify.Verify(ctx, res.Pushed, base...)
	if !errors.Is(err, verify.ErrVerification) || !strings.Contains(err.Error(), "FAILED the policies in audit mode") {
		t.Fatalf("verify --require decision on an audit-mode FAILED decision: %v", err)
	}
	// Accepting audit-mode results is an explicit choice.
	vr, err := verify.Verify(ctx, res.Pushed, append(base, verify.WithAuditDecisionsUnsafe())...)
	if err != nil {
		t.Fatal(err)
	}
	if vr.Decision == nil || vr.Decision.Result != "FAILED" || vr.Decision.Mode != "audit" || vr.Decision.Policy != res.Decision.Digests.Policy || vr.Decision.DB != res.Decision.Digests.DB {
		t.Fatalf("the attested decision of an audit run: %+v", vr.Decision)
	}
	// The digests are of the files as written.
	if vr.Decision.Decision != sha256Of(mustRead(t, res.Outputs["decision"])) || vr.Decision.Input != sha256Of(mustRead(t, filepath.Join(cfg.OutDir, "policy-input.json"))) {
		t.Fatalf("attested digests %s %s do not match decision.json and policy-input.json", vr.Decision.Decision, vr.Decision.Input)
	}
	// The verdict replays from the attested input.
	rp, err := assess.Replay(ctx, vr, cfg.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Decision.Verdict != "fail" || rp.Decision.Mode != facts.Audit {
		t.Fatalf("replayed %s in %s mode", rp.Decision.Verdict, rp.Decision.Mode)
	}
	// A policy bundle that differs does not replay.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "d.yaml"), []byte("settings:\n  user:\n    root: warn\n"), 0o644)
	other, err := policy.New(ctx, policy.WithDataFile(filepath.Join(dir, "d.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := assess.Replay(ctx, vr, other); !errors.Is(err, assess.ErrReplayMismatch) {
		t.Fatalf("replay with another policy bundle: %v", err)
	}
	// A policy digest that is not the attested one is refused.
	if _, err := verify.Verify(ctx, res.Pushed, append(base, verify.WithAuditDecisionsUnsafe(), verify.WithPolicyDigest(other.Digest()))...); !errors.Is(err, verify.ErrVerification) {
		t.Fatalf("verify with another --policy-digest: %v", err)
	}
}

func TestBadSources(t *testing.T) {
	f := setup(t)
	dockerfileDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dockerfileDir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(t.TempDir(), "bad.tar")
	if err := os.WriteFile(corrupt, []byte("not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src, want string
		is        error
	}{
		{dockerfileDir, "Dagger engine", ErrDockerfileNeedsEngine},
		{t.TempDir(), "neither Go files nor a Dockerfile", nil},
		{"oci-archive:" + corrupt, "bad.tar", nil},
	} {
		cfg := f.config(t, tc.src, "bad", false)
		_, err := Run(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Fatalf("source %s: %v, want an error saying %q", tc.src, err, tc.want)
		}
	}
	cfg := f.config(t, greeter(t), "bad", false)
	cfg.Destination = f.reg.Host + "/bad@sha256:" + strings.Repeat("0", 64)
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "names a digest") {
		t.Fatalf("a digest destination: %v", err)
	}
	cfg.Signer = nil
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "signer") {
		t.Fatalf("no signer: %v", err)
	}
}

// validateOutputs checks every JSON document against its schema.
func validateOutputs(t *testing.T, res *Result) {
	t.Helper()
	for kind, schema := range map[string]string{
		"SBOM (CycloneDX) linux/amd64": schemas.CycloneDX,
		"GitLab CycloneDX linux/amd64": schemas.CycloneDX,
		"SBOM (SPDX) linux/amd64":      schemas.SPDX,
		"SARIF":                        schemas.SARIF,
		"GitLab container scanning":    schemas.GitLabContainerScanning,
		"GitLab dependency scanning":   schemas.GitLabDependencyScanning,
	} {
		p := res.Outputs[kind]
		if p == "" {
			t.Fatalf("no %s output; outputs %v", kind, res.Outputs)
		}
		schemas.Validate(t, schema, mustRead(t, p))
	}
	for _, kind := range []string{"findings", "decision", "summary", "HTML report"} {
		if _, err := os.Stat(res.Outputs[kind]); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
}

func readAudit(t *testing.T, p string) map[string]auditEntry {
	t.Helper()
	out := map[string]auditEntry{}
	for _, e := range auditEntries(t, p) {
		out[e.Stage] = e
	}
	return out
}

func auditOrder(t *testing.T, p string) []string {
	var out []string
	for _, e := range auditEntries(t, p) {
		out = append(out, e.Stage)
	}
	return out
}

func auditEntries(t *testing.T, p string) []auditEntry {
	t.Helper()
	data := mustRead(t, p)
	var out []auditEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var e auditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		t.Fatal("empty audit log")
	}
	return out
}

func inOrder(got []string, want ...string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
