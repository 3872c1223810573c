package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/image"
)

// blockingProxy forwards to the registry, but holds any request that
// matches (by default: one that stores a cosign signature) until the test
// releases it.
type blockingProxy struct {
	srv     *httptest.Server
	caFile  string
	blocked atomic.Bool
	seen    chan struct{}
	release chan struct{}
	match   atomic.Pointer[func(*http.Request) bool]
}

// storesSignature matches the request that stores a cosign signature.
func storesSignature(r *http.Request) bool {
	return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256-") && strings.HasSuffix(r.URL.Path, ".sig")
}

func newBlockingProxy(t *testing.T, s *signing) *blockingProxy {
	t.Helper()
	target, _ := url.Parse("https://" + s.reg.Host)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.reg.CAPool}}
	p := &blockingProxy{seen: make(chan struct{}, 1), release: make(chan struct{})}
	// Upload locations name the registry; point them back at the proxy.
	rp.ModifyResponse = func(resp *http.Response) error {
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Set("Location", strings.Replace(loc, "https://"+target.Host, p.srv.URL, 1))
		}
		return nil
	}
	p.blocked.Store(true)
	m := storesSignature
	p.match.Store(&m)
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.blocked.Load() && (*p.match.Load())(r) {
			select {
			case p.seen <- struct{}{}:
			default:
			}
			<-p.release
			http.Error(w, "proxy closed", http.StatusServiceUnavailable)
			return
		}
		r.Host = target.Host
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(p.release); p.srv.Close() })
	p.caFile = filepath.Join(t.TempDir(), "proxy-ca.pem")
	os.WriteFile(p.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}), 0o644)
	return p
}

func (p *blockingProxy) host() string { return strings.TrimPrefix(p.srv.URL, "https://") }

// killWhileStoringSignature runs the sealyard binary with args (the
// registry password on stdin), kills its process group (SIGKILL) as soon
// as it tries to store a signature through p, then lets p pass requests
// again. It returns what the process printed.
func killWhileStoringSignature(t *testing.T, s *signing, p *blockingProxy, wait time.Duration, args ...string) string {
	t.Helper()
	cmd := exec.Command(sealyardBinary(t), args...)
	cmd.Stdin = strings.NewReader(s.reg.Password)
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD="+s.password, "SOURCE_DATE_EPOCH=1750000000")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.seen:
	case <-time.After(wait):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		t.Fatalf("sealyard %s never tried to store the signature:\n%s", args[0], logs.String())
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	p.blocked.Store(false)
	return logs.String()
}

// TestCrashBetweenPushAndSign kills sealyard (SIGKILL) while it is storing
// the signature of a pushed image, then reruns it: the digest gets signed,
// and the registry ends with exactly one signature.
func TestCrashBetweenPushAndSign(t *testing.T) {
	s := newSigning(t)
	ref := s.push(t, "crash")
	p := newBlockingProxy(t, s)
	viaProxy := p.host() + ref[strings.Index(ref, "/"):]

	killWhileStoringSignature(t, s, p, time.Minute, "sign", viaProxy, "--key", s.priv, "--skip-tlog-unsafe",
		"--ca-file", s.reg.CAFile, "--ca-file", p.caFile, "--username", s.reg.Username, "--password-stdin")
	if n := signatureCount(t, s, ref); n != 0 {
		t.Fatalf("%d signatures after the crash; the blocked one should not be stored", n)
	}
	for i := 0; i < 2; i++ {
		s.sealyard(t, "sign", ref, "--key", s.priv, "--skip-tlog-unsafe").mustSucceed(t)
		if n := signatureCount(t, s, ref); n != 1 {
			t.Fatalf("rerun %d: %d signatures, want exactly 1", i+1, n)
		}
	}
	s.sealyard(t, "verify", ref, "--key", s.pub, "--skip-tlog-unsafe").mustSucceed(t)
}

func signatureCount(t *testing.T, s *signing, ref string) int {
	t.Helper()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	c := s.reg.Client(t)
	se, err := ociremote.SignedEntity(d, ociremote.WithRemoteOptions(c.RemoteOptions(context.Background())...))
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := se.Signatures()
	if err != nil {
		t.Fatal(err)
	}
	all, err := sigs.Get()
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// TestSecretsStayOut runs keygen, sign, attest and verify (and a wrong
// password) and greps everything they printed, and everything they stored
// in the registry, for the key's password and its private key.
func TestSecretsStayOut(t *testing.T) {
	s := newSigning(t)
	ref := s.push(t, "secrets")
	privPEM := string(mustRead(t, s.priv))
	keyBody := strings.TrimSpace(strings.Split(privPEM, "-----")[2])
	secrets := []string{s.password, keyBody[:40], s.reg.Password}

	var outputs []string
	record := func(r result) result {
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	sbomFile := filepath.Join(s.dir, "sbom.cdx.json")
	record(run(t, s.reg.Password, nil, append([]string{"sbom", "registry:" + ref, "-o", "cyclonedx-json=" + sbomFile}, registryArgs(s.reg)...)...)).mustSucceed(t)
	record(s.sealyard(t, "sign", ref, "--key", s.priv, "--skip-tlog-unsafe")).mustSucceed(t)
	record(s.sealyard(t, "attest", ref, "--key", s.priv, "--skip-tlog-unsafe", "--type", "cyclonedx", "--predicate", sbomFile)).mustSucceed(t)
	record(s.sealyard(t, "verify", ref, "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom", "-o", "json")).mustSucceed(t)
	wrong := run(t, s.reg.Password, map[string]string{"COSIGN_PASSWORD": "not-" + s.password}, append([]string{"sign", ref, "--key", s.priv, "--skip-tlog-unsafe"}, registryArgs(s.reg)...)...)
	record(wrong)
	if wrong.code != ExitError || !strings.Contains(wrong.stderr, "COSIGN_PASSWORD") {
		t.Fatalf("wrong password: exit %d %q", wrong.code, wrong.stderr)
	}
	// cosign reads env:// keys from the process environment.
	t.Setenv("SEALYARD_TEST_RELEASE_KEY", privPEM)
	envKey := run(t, s.reg.Password, map[string]string{"COSIGN_PASSWORD": s.password}, append([]string{"sign", ref, "--key", "env://SEALYARD_TEST_RELEASE_KEY", "--skip-tlog-unsafe"}, registryArgs(s.reg)...)...)
	record(envKey).mustSucceed(t)

	// Everything stored for the image: signature and attestation payloads.
	d, _ := name.NewDigest(ref)
	se, _ := ociremote.SignedEntity(d, ociremote.WithRemoteOptions(s.reg.Client(t).RemoteOptions(context.Background())...))
	sigs, _ := se.Signatures()
	atts, _ := se.Attestations()
	allSigs, _ := sigs.Get()
	allAtts, _ := atts.Get()
	if len(allSigs) == 0 || len(allAtts) == 0 {
		t.Fatal("nothing stored to check")
	}
	for _, x := range append(allSigs, allAtts...) {
		p, err := x.Payload()
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(p))
	}
	logs, _ := os.ReadFile(filepath.Join(filepath.Dir(s.reg.Dir), "registry.log"))
	outputs = append(outputs, string(logs))
	for _, out := range outputs {
		for _, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Fatalf("a secret appears in an output:\n%s", out)
			}
		}
	}
}

// TestRunSecretsStayOutOnEveryPath runs sealyard run on an image whose
// config holds credentials (a label value, an environment variable and
// the history that set it), with a signing key password and a registry
// password: once denied, once in audit mode against a registry that
// refuses the password (a failure halfway), once with a wrong signing
// password. Every byte printed and every file written is searched for the
// credential values and both passwords.
func TestRunSecretsStayOutOnEveryPath(t *testing.T) {
	s := newSigning(t)
	awsKey, dbPassword := vulnfixture.SecretLabelValue, vulnfixture.SecretEnvValue
	leaky := vulnfixture.SecretImage(t)
	layout := filepath.Join(t.TempDir(), "leaky")
	if err := image.Write(context.Background(), leaky, "oci-dir:"+layout); err != nil {
		t.Fatal(err)
	}
	secrets := []string{awsKey, dbPassword, s.password, s.reg.Password}
	base := append([]string{"run", "oci-dir:" + layout, "--to", s.reg.Host + "/leaky:v1", "--key", s.priv, "--skip-tlog-unsafe", "--progress", "plain"}, dbArgs(t)...)

	// Denied: SY-SEC-001 and SY-SEC-002, nothing pushed.
	out := t.TempDir()
	r := s.sealyard(t, append(base, "--out", out)...)
	if r.code != ExitDenied || !strings.Contains(r.stderr+readAll(t, out), "SY-SEC-002") {
		t.Fatalf("the leaky image: exit %d %q", r.code, r.stderr)
	}
	checkNoSecrets(t, secrets, out, r)

	// Audit mode (so the run goes on) against a registry refusing the
	// password: it fails at the push.
	out = t.TempDir()
	r = run(t, "wrong-"+s.reg.Password, s.env, append(append(base, "--out", out, "--gate-mode", "audit"), registryArgs(s.reg)...)...)
	if r.code != ExitError {
		t.Fatalf("a registry refusing the password: exit %d %q", r.code, r.stderr)
	}
	checkNoSecrets(t, append(secrets, "wrong-"+s.reg.Password), out, r)

	// A wrong signing password fails before anything is read.
	r = run(t, s.reg.Password, map[string]string{"COSIGN_PASSWORD": "wrong-" + s.password}, append(append(base, "--out", t.TempDir()), registryArgs(s.reg)...)...)
	if r.code != ExitError {
		t.Fatalf("a wrong signing password: exit %d %q", r.code, r.stderr)
	}
	for _, secret := range append(secrets, "wrong-"+s.password) {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("a secret appears in the output of a failed run:\n%s\n%s", r.stdout, r.stderr)
		}
	}
}

func readAll(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b.Write(mustRead(t, filepath.Join(dir, e.Name())))
	}
	return b.String()
}

// TestKillAtEveryBoundary kills sealyard run (SIGKILL) at each point where
// it writes to the registry: in the middle of a blob upload, while storing
// the image manifest, the signature, the attestations, and the tag. After
// every kill the release tag is absent (it moves last), audit.jsonl holds
// the stages that finished, and a rerun succeeds with exactly one
// signature and verifies.
func TestKillAtEveryBoundary(t *testing.T) {
	s := newSigning(t)
	g := newGateFixture(t)
	sealyardBinary(t) // built once, outside the TMPDIR each case checks
	// An oci-archive source is unpacked into a temporary directory that
	// lives for the whole run: a killed run leaves it behind.
	l, err := image.Load(context.Background(), g.ref)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "app.tar")
	if err := image.Write(context.Background(), l.Artifact, "oci-archive:"+archive); err != nil {
		t.Fatal(err)
	}
	l.Close()
	g.ref = "oci-archive:" + archive
	keyBody := strings.TrimSpace(strings.Split(string(mustRead(t, s.priv)), "-----")[2])
	secrets := []string{s.password, s.reg.Password, keyBody[:40]}
	boundaries := []struct {
		name  string
		match func(*http.Request) bool
		done  []string
	}{
		{"mid-blob upload", func(r *http.Request) bool {
			return r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/blobs/uploads/")
		}, []string{"source", "sbom", "scan", "gate"}},
		{"image manifest", func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/sha256:")
		}, []string{"source", "sbom", "scan", "gate"}},
		{"signature", storesSignature, []string{"source", "sbom", "scan", "gate", "push"}},
		{"attestations", func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, ".att")
		}, []string{"source", "sbom", "scan", "gate", "push", "sign"}},
		{"tag", func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/v1")
		}, []string{"source", "sbom", "scan", "gate", "push", "sign", "attest"}},
	}
	for i, b := range boundaries {
		t.Run(b.name, func(t *testing.T) {
			p := newBlockingProxy(t, s)
			m := b.match
			p.match.Store(&m)
			repo := fmt.Sprintf("killed%d", i)
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			out := t.TempDir()
			args := append([]string{"run", g.ref, "--to", p.host() + "/" + repo + ":v1", "--key", s.priv, "--skip-tlog-unsafe", "--gate-mode", "audit",
				"--progress", "plain", "--out", out, "--ca-file", s.reg.CAFile, "--ca-file", p.caFile, "--username", s.reg.Username, "--password-stdin"}, dbArgs(t)...)
			killed := killWhileStoringSignature(t, s, p, 2*time.Minute, args...)
			if s.reg.HasTag(t, repo, "v1") {
				t.Fatal("the release tag exists after a kill before the run finished")
			}
			finished := map[string]bool{}
			for _, line := range strings.Split(strings.TrimSpace(string(mustRead(t, filepath.Join(out, "audit.jsonl")))), "\n") {
				var e struct{ Stage, State string }
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("audit line %q: %v", line, err)
				}
				if e.State == "done" {
					finished[strings.Fields(e.Stage)[0]] = true
				}
			}
			for _, st := range b.done {
				if !finished[st] {
					t.Errorf("audit.jsonl lacks the finished stage %s (has %v)", st, finished)
				}
			}
			// The same command again (the proxy passes everything now).
			rerunOut := t.TempDir()
			args[slices.Index(args, "--out")+1] = rerunOut
			r := run(t, s.reg.Password, s.env, args...).mustSucceed(t)
			// No secret in what either run printed or wrote.
			for _, secret := range secrets {
				for _, text := range []string{killed, r.stdout, r.stderr} {
					if strings.Contains(text, secret) {
						t.Fatalf("a secret appears in the output:\n%s", text)
					}
				}
				for _, dir := range []string{out, rerunOut} {
					filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
						if err == nil && !d.IsDir() && strings.Contains(string(mustRead(t, path)), secret) {
							t.Fatalf("a secret appears in %s", path)
						}
						return nil
					})
				}
			}
			ref := strings.Replace(strings.Replace(strings.TrimSpace(r.stdout), ":v1@", "@", 1), p.host(), s.reg.Host, 1)
			if n := signatureCount(t, s, ref); n != 1 {
				t.Fatalf("%d signatures after the rerun, want 1", n)
			}
			s.sealyard(t, "verify", s.reg.Host+"/"+repo+":v1", "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom,vuln,provenance,decision", "--allow-audit-decision").mustSucceed(t)
			// The killed process's scratch directory is swept by the next
			// sealyard that starts; nothing is left behind.
			if out, err := exec.Command(sealyardBinary(t), "version").CombinedOutput(); err != nil {
				t.Fatalf("sealyard version: %v\n%s", err, out)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				var names []string
				for _, e := range left {
					names = append(names, e.Name())
				}
				t.Fatalf("left behind in TMPDIR: %v", names)
			}
		})
	}
}
