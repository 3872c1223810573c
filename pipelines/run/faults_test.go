package run

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sealyard/sealyard/internal/testutil/faultproxy"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/sign"
	"github.com/sealyard/sealyard/pipelines/verify"
)

var (
	blobUploadStart = regexp.MustCompile(`/blobs/uploads/$`)
	manifestByDig   = regexp.MustCompile(`/manifests/sha256:`)
	sigTag          = regexp.MustCompile(`/manifests/sha256-[0-9a-f]+\.sig$`)
	attTag          = regexp.MustCompile(`/manifests/sha256-[0-9a-f]+\.att$`)
	releaseTag      = regexp.MustCompile(`/manifests/v1$`)
)

// TestRegistryFaults drives sealyard run through a fault-injecting front of
// the Distribution registry, one fault per stage that talks to it. Every
// run either succeeds (a transient fault, retried) or fails with an error
// naming the registry operation, its attempts and the last status; after
// every failure the release tag is absent (it moves last, after the
// signature and attestations), the finished stages are in audit.jsonl, no
// secret appears anywhere, and a rerun against the healthy registry
// succeeds with exactly one signature. The table is logged (go test -v)
// and kept in the README.
func TestRegistryFaults(t *testing.T) {
	f := setup(t)
	layout := filepath.Join(t.TempDir(), "layout")
	if err := image.Write(context.Background(), vulnfixture.GateImage(t), "oci-dir:"+layout); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, f.reg.CAFile))

	type cell struct {
		stage, fault string
		rule         faultproxy.Rule
		timeout      time.Duration
		wantOK       bool
	}
	cells := []cell{
		{"push", "503 twice", faultproxy.Rule{Method: "POST", Path: blobUploadStart, Times: 2, Kind: faultproxy.Status, Status: 503}, 0, true},
		{"push", "503 always", faultproxy.Rule{Method: "POST", Path: blobUploadStart, Kind: faultproxy.Status, Status: 503}, 0, false},
		{"push", "429 Retry-After: 1, once", faultproxy.Rule{Method: "PUT", Path: manifestByDig, Times: 1, Kind: faultproxy.Status, Status: 429, RetryAfter: "1"}, 0, true},
		{"push", "500 always on the manifest", faultproxy.Rule{Method: "PUT", Path: manifestByDig, Kind: faultproxy.Status, Status: 500}, 0, false},
		{"push", "wrong Docker-Content-Digest", faultproxy.Rule{Method: "HEAD", Path: manifestByDig, Kind: faultproxy.WrongDigest}, 0, false},
		{"push", "stall past the deadline", faultproxy.Rule{Method: "PUT", Path: manifestByDig, Kind: faultproxy.Stall, Stall: 8 * time.Second}, 2 * time.Second, false},
		{"push", "connection reset mid-blob, once", faultproxy.Rule{Method: "PATCH", Path: regexp.MustCompile(`/blobs/uploads/.+`), Times: 1, Kind: faultproxy.Reset}, 0, true},
		{"push", "connection reset mid-blob, always", faultproxy.Rule{Method: "PATCH", Path: regexp.MustCompile(`/blobs/uploads/.+`), Kind: faultproxy.Reset}, 0, false},
		{"sign", "502 once", faultproxy.Rule{Method: "PUT", Path: sigTag, Times: 1, Kind: faultproxy.Status, Status: 502}, 0, true},
		{"sign", "503 always", faultproxy.Rule{Method: "PUT", Path: sigTag, Kind: faultproxy.Status, Status: 503}, 0, false},
		{"sign", "token expired", faultproxy.Rule{Method: "PUT", Path: sigTag, Kind: faultproxy.ExpiredToken}, 0, false},
		{"attest", "503 once", faultproxy.Rule{Method: "PUT", Path: attTag, Times: 1, Kind: faultproxy.Status, Status: 503}, 0, true},
		{"attest", "503 always", faultproxy.Rule{Method: "PUT", Path: attTag, Kind: faultproxy.Status, Status: 503}, 0, false},
		{"attest", "connection reset", faultproxy.Rule{Method: "PUT", Path: attTag, Kind: faultproxy.Reset}, 0, false},
		{"tag", "503 always", faultproxy.Rule{Method: "PUT", Path: releaseTag, Kind: faultproxy.Status, Status: 503}, 0, false},
		{"tag", "429 Retry-After: 1, once", faultproxy.Rule{Method: "PUT", Path: releaseTag, Times: 1, Kind: faultproxy.Status, Status: 429, RetryAfter: "1"}, 0, true},
	}
	var table []string
	for i, c := range cells {
		t.Run(c.stage+" "+c.fault, func(t *testing.T) {
			p := faultproxy.Start(t, f.reg.Host, pool)
			client := throughProxy(t, f, p)
			repo := fmt.Sprintf("faults%d", i)
			cfg := f.cfg
			cfg.Registry = client
			cfg.Source = "oci-dir:" + layout
			cfg.Destination = p.Host + "/" + repo + ":v1"
			cfg.OutDir = t.TempDir()
			cfg.StageTimeout = c.timeout
			cfg.GateOptions = []policy.GateOption{policy.WithMode(facts.Audit)}
			c.rule.Name = c.fault
			p.Add(c.rule)
			// What the CLI would print: every event, with its detail and error.
			var printed strings.Builder
			var mu sync.Mutex
			cfg.Events = func(e Event) {
				mu.Lock()
				fmt.Fprintf(&printed, "%s %s %s %v\n", e.Stage, e.State, e.Detail, e.Err)
				mu.Unlock()
			}
			start := time.Now()
			res, err := Run(context.Background(), cfg)
			elapsed := time.Since(start)
			hits := p.Hits(c.fault)
			if hits == 0 {
				t.Fatalf("the fault never fired (requests: %v)", p.Log())
			}
			outcome := "succeeded"
			switch {
			case c.wantOK && err != nil:
				t.Fatalf("a transient fault failed the run: %v", err)
			case !c.wantOK && err == nil:
				t.Fatalf("the run succeeded through a persistent fault (%d hits)", hits)
			case err != nil:
				outcome = "failed: " + firstLine(err.Error())
				if !registry.IsRegistryError(err) && !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "the registry stored") {
					t.Errorf("the error does not name the registry operation and its attempts: %v", err)
				}
			}
			if c.rule.RetryAfter != "" && elapsed < time.Second {
				t.Errorf("Retry-After: 1 was not honoured (the run took %v)", elapsed)
			}
			for _, secret := range []string{f.reg.Password, "run-test-password"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Fatal("a secret appears in the error")
				}
				if strings.Contains(printed.String(), secret) {
					t.Fatal("a secret appears in the progress output")
				}
				checkDirHasNo(t, cfg.OutDir, secret)
			}
			tagged := f.reg.HasTag(t, repo, "v1")
			if !c.wantOK && tagged {
				t.Fatal("the release tag moved although the run failed")
			}
			// The healthy registry: the rerun finishes the job, once.
			p.Clear()
			cfg.OutDir = t.TempDir()
			cfg.StageTimeout = 0
			res, err = Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("the rerun: %v", err)
			}
			d, _ := name.NewDigest(strings.Replace(res.Pushed, p.Host, f.reg.Host, 1))
			sigs, err := sign.Signatures(context.Background(), d, sign.WithRegistry(f.client))
			if err != nil || len(sigs) != 1 {
				t.Fatalf("%d signatures after the rerun (%v), want 1", len(sigs), err)
			}
			v, _ := sign.LoadVerifier(context.Background(), f.pub)
			if _, err := verify.Verify(context.Background(), f.reg.Host+"/"+repo+":v1", verify.WithKey(v, f.pub), verify.WithRegistry(f.client),
				verify.WithoutTlogUnsafe(), verify.WithRequire("sbom", "vuln", "provenance"), verify.WithAuditDecisionsUnsafe(), verify.WithRequire("decision")); err != nil {
				t.Fatalf("the rerun's tag does not verify: %v", err)
			}
			table = append(table, fmt.Sprintf("| %s | %s | %s | %d | %.1f s | yes |", c.stage, c.fault, outcome, hits, elapsed.Seconds()))
		})
	}
	t.Logf("\n| stage | fault | outcome | faults injected | run took | rerun succeeded |\n| --- | --- | --- | --- | --- | --- |\n%s", strings.Join(table, "\n"))
}

// throughProxy is a client of the fixture's registry through the fault
// front p: it trusts p's certificate and logs in with the registry's
// credentials.
func throughProxy(t *testing.T, f *fixture, p *faultproxy.Proxy) *registry.Client {
	t.Helper()
	c, err := registry.New(registry.WithCAFile(p.CAFile), registry.WithBasicAuth(p.Host, f.reg.Username, f.reg.Password),
		registry.WithoutDockerConfig(), registry.WithEnv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkDirHasNo(t *testing.T, dir, secret string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(string(mustRead(t, filepath.Join(dir, e.Name()))), secret) {
			t.Fatalf("a secret appears in %s", e.Name())
		}
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return strings.ReplaceAll(s, "|", "/")
}

// TestRegistryFaultsPullAndVerify: the same front on the paths that read
// from a registry: a run whose source is a registry image, and verify.
// Transient faults are retried through; a persistent fault, a body cut
// short or another manifest than the one asked for is an error, and
// nothing is pushed or tagged.
func TestRegistryFaultsPullAndVerify(t *testing.T) {
	f := setup(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, f.reg.CAFile))
	// The source image, in the real registry.
	srcImg := vulnfixture.GateImage(t)
	srcDigest, _ := srcImg.Digest()
	srcRef, _ := name.ParseReference(f.reg.Host + "/pullsrc:v1")
	if err := remote.Write(srcRef, srcImg, f.client.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
	other, _ := vulnfixture.SecretImage(t).RawManifest()
	blobGET := regexp.MustCompile(`/pullsrc/blobs/sha256:`)
	manifestGET := regexp.MustCompile(`/pullsrc/manifests/sha256:`)
	cells := []struct {
		name   string
		rule   faultproxy.Rule
		wantOK bool
	}{
		{"pull: 503 once on a blob", faultproxy.Rule{Method: "GET", Path: blobGET, Times: 1, Kind: faultproxy.Status, Status: 503}, true},
		{"pull: 503 always on blobs", faultproxy.Rule{Method: "GET", Path: blobGET, Kind: faultproxy.Status, Status: 503}, false},
		{"pull: body cut short (reset mid-blob), once", faultproxy.Rule{Method: "GET", Path: blobGET, Times: 1, Kind: faultproxy.Reset}, true},
		{"pull: a layer body cut short, once", faultproxy.Rule{Method: "GET", Path: blobGET, After: 1, Times: 1, Kind: faultproxy.Reset}, true},
		{"pull: body cut short (reset mid-blob), always", faultproxy.Rule{Method: "GET", Path: blobGET, Kind: faultproxy.Reset}, false},
		{"pull: another manifest than the digest asked for", faultproxy.Rule{Method: "GET", Path: manifestGET, Kind: faultproxy.OtherManifest, Body: other}, false},
	}
	var table []string
	for i, c := range cells {
		t.Run(c.name, func(t *testing.T) {
			p := faultproxy.Start(t, f.reg.Host, pool)
			client := throughProxy(t, f, p)
			cfg := f.cfg
			cfg.Registry = client
			cfg.Source = "registry:" + p.Host + "/pullsrc@" + srcDigest.String()
			repo := fmt.Sprintf("pulled%d", i)
			cfg.Destination = p.Host + "/" + repo + ":v1"
			cfg.OutDir = t.TempDir()
			cfg.GateOptions = []policy.GateOption{policy.WithMode(facts.Audit)}
			c.rule.Name = c.name
			p.Add(c.rule)
			_, err := Run(context.Background(), cfg)
			hits := p.Hits(c.name)
			if hits == 0 {
				t.Fatalf("the fault never fired: %v", p.Log())
			}
			switch {
			case c.wantOK && err != nil:
				t.Fatalf("a transient fault failed the run: %v", err)
			case !c.wantOK && err == nil:
				t.Fatal("the run succeeded through the fault")
			case !c.wantOK && f.reg.HasTag(t, repo, "v1"):
				t.Fatal("the failed run moved a tag")
			}
			outcome := "succeeded"
			if err != nil {
				outcome = "failed: " + firstLine(err.Error())
			}
			table = append(table, fmt.Sprintf("| %s | %s | %d |", c.name, outcome, hits))
		})
	}
	// verify, through the front, of an image signed and attested.
	cfg := f.config(t, "", "verified", false)
	cfg.Source = "registry:" + f.reg.Host + "/pullsrc@" + srcDigest.String()
	cfg.GateOptions = []policy.GateOption{policy.WithMode(facts.Audit)}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	v, _ := sign.LoadVerifier(context.Background(), f.pub)
	for _, c := range []struct {
		name   string
		rule   faultproxy.Rule
		wantOK bool
	}{
		{"verify: 503 once on the signature", faultproxy.Rule{Method: "GET", Path: regexp.MustCompile(`\.sig$`), Times: 1, Kind: faultproxy.Status, Status: 503}, true},
		{"verify: 503 always on the attestations", faultproxy.Rule{Method: "GET", Path: regexp.MustCompile(`\.att$`), Kind: faultproxy.Status, Status: 503}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := faultproxy.Start(t, f.reg.Host, pool)
			client := throughProxy(t, f, p)
			c.rule.Name = c.name
			p.Add(c.rule)
			_, err := verify.Verify(context.Background(), p.Host+"/verified:v1", verify.WithKey(v, f.pub), verify.WithRegistry(client),
				verify.WithoutTlogUnsafe(), verify.WithRequire("sbom", "decision"), verify.WithAuditDecisionsUnsafe())
			if c.wantOK != (err == nil) {
				t.Fatalf("verify: %v (want ok: %v)", err, c.wantOK)
			}
			if err != nil && errors.Is(err, verify.ErrVerification) {
				t.Fatalf("a registry failure was reported as a failed verification (exit 1, not 2): %v", err)
			}
			outcome := "verified"
			if err != nil {
				outcome = "failed (exit 2): " + firstLine(err.Error())
			}
			table = append(table, fmt.Sprintf("| %s | %s | %d |", c.name, outcome, p.Hits(c.name)))
		})
	}
	t.Logf("\n| fault | outcome | faults injected |\n| --- | --- | --- |\n%s", strings.Join(table, "\n"))
}

// TestRegistryFaultsReferrers: on a registry that serves the OCI 1.1
// referrers API (go-containerregistry's; Distribution does not), a fault
// on the referrers endpoint once is retried through, and always fails the
// run before the tag moves, naming the operation; the rerun stores the
// signature once.
func TestRegistryFaultsReferrers(t *testing.T) {
	f := setup(t)
	srv := httptest.NewTLSServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	host := strings.TrimPrefix(srv.URL, "https://")
	src := gateLayout(t)
	referrers := regexp.MustCompile(`/referrers/sha256:`)
	for i, c := range []struct {
		name   string
		rule   faultproxy.Rule
		wantOK bool
	}{
		{"referrers: 503 once", faultproxy.Rule{Method: "GET", Path: referrers, Times: 1, Kind: faultproxy.Status, Status: 503}, true},
		{"referrers: 503 always", faultproxy.Rule{Method: "GET", Path: referrers, Kind: faultproxy.Status, Status: 503}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := faultproxy.Start(t, host, pool)
			client, err := registry.New(registry.WithCAFile(p.CAFile), registry.WithoutDockerConfig(), registry.WithEnv(func(string) string { return "" }))
			if err != nil {
				t.Fatal(err)
			}
			cfg := f.cfg
			cfg.Registry = client
			cfg.Source = src
			repo := fmt.Sprintf("refs%d", i)
			cfg.Destination = p.Host + "/" + repo + ":v1"
			cfg.OutDir = t.TempDir()
			cfg.GateOptions = []policy.GateOption{policy.WithMode(facts.Audit)}
			c.rule.Name = c.name
			p.Add(c.rule)
			_, err = Run(context.Background(), cfg)
			if p.Hits(c.name) == 0 {
				t.Fatalf("the fault never fired: %v", p.Log())
			}
			if c.wantOK != (err == nil) {
				t.Fatalf("run: %v (want ok: %v)", err, c.wantOK)
			}
			if err != nil && !registry.IsRegistryError(err) {
				t.Errorf("the error does not name the registry operation: %v", err)
			}
			if !c.wantOK {
				tags, _ := remote.List(mustRepo(t, p.Host+"/"+repo), client.RemoteOptions(context.Background())...)
				if slices.Contains(tags, "v1") {
					t.Fatal("the tag moved although the run failed")
				}
				p.Clear()
				cfg.OutDir = t.TempDir()
				res, err := Run(context.Background(), cfg)
				if err != nil {
					t.Fatalf("rerun: %v", err)
				}
				d, _ := name.NewDigest(res.Pushed)
				if sigs, err := sign.Signatures(context.Background(), d, sign.WithRegistry(client)); err != nil || len(sigs) != 1 {
					t.Fatalf("%d signatures after the rerun (%v)", len(sigs), err)
				}
			}
		})
	}
}

func mustRepo(t *testing.T, s string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
