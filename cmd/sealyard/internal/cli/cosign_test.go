package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/sealyard/sealyard/internal/testutil/distribution"
	"github.com/sealyard/sealyard/internal/testutil/peers"
	"github.com/sealyard/sealyard/internal/testutil/virtualsigstore"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/predicate"
)

// signing is a Distribution registry, a key pair and the environment both
// sealyard and the stock cosign CLI use to reach them.
type signing struct {
	reg      *distribution.Registry
	dir      string
	priv     string
	pub      string
	password string
	env      map[string]string
}

const testPassword = "s3aly4rd-test-password-7Q9"

func newSigning(t *testing.T) *signing {
	t.Helper()
	s := &signing{reg: distribution.Start(t), dir: t.TempDir(), password: testPassword}
	s.env = map[string]string{"COSIGN_PASSWORD": s.password}
	prefix := filepath.Join(s.dir, "cosign")
	run(t, "", s.env, "keygen", "--output-key-prefix", prefix).mustSucceed(t)
	s.priv, s.pub = prefix+".key", prefix+".pub"
	// cosign reads credentials from a Docker config and trusts SSL_CERT_FILE.
	cfgDir := filepath.Join(s.dir, "docker")
	os.MkdirAll(cfgDir, 0o700)
	auth := base64.StdEncoding.EncodeToString([]byte(s.reg.Username + ":" + s.reg.Password))
	cfg := fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, s.reg.Host, auth)
	os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600)
	return s
}

// push builds the gate fixture into the registry and returns REPO@DIGEST.
func (s *signing) push(t *testing.T, repo string) string {
	t.Helper()
	g := newGateFixture(t)
	r := run(t, s.reg.Password, nil, append([]string{"push", g.ref, s.reg.Host + "/" + repo + ":v1"}, registryArgs(s.reg)...)...).mustSucceed(t)
	line := strings.TrimSpace(r.stdout)
	return s.reg.Host + "/" + repo + "@" + line[strings.Index(line, "@")+1:]
}

// sealyard runs sealyard with the registry credentials.
func (s *signing) sealyard(t *testing.T, args ...string) result {
	t.Helper()
	return run(t, s.reg.Password, s.env, append(args, registryArgs(s.reg)...)...)
}

// attested has the stock cosign CLI verify ref's attestation of type typ
// with the test key and returns the statement it verified.
func (s *signing) attested(t *testing.T, typ, ref string) *predicate.Statement {
	t.Helper()
	out, err := s.cosign(t, "verify-attestation", "--key", s.pub, "--insecure-ignore-tlog=true", "--type", typ, ref)
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Payload string }
	if err := json.Unmarshal([]byte(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0]), &env); err != nil {
		t.Fatalf("cosign printed %q", out)
	}
	body, _ := base64.StdEncoding.DecodeString(env.Payload)
	st, err := predicate.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// cosign runs the stock cosign CLI (the version sealyard links).
func (s *signing) cosign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return s.cosignEnv(t, nil, args...)
}

func (s *signing) cosignEnv(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(peers.Cosign.Path(t), args...)
	cmd.Env = append(append(os.Environ(), env...),
		"DOCKER_CONFIG="+filepath.Join(s.dir, "docker"),
		"SSL_CERT_FILE="+s.reg.CAFile,
		"COSIGN_PASSWORD="+s.password,
		"TUF_ROOT="+filepath.Join(s.dir, "tuf"),
		"SIGSTORE_NO_CACHE=true",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func (s *signing) write(t *testing.T, name string, data []byte) string {
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStockCosignVerifiesSealyard signs and attests with sealyard, then has
// the stock cosign CLI verify the signature and each attestation and
// checks that the payloads it prints are the ones sealyard produced.
func TestStockCosignVerifiesSealyard(t *testing.T) {
	s := newSigning(t)
	ref := s.push(t, "app")
	digest := ref[strings.Index(ref, "@")+1:]

	s.sealyard(t, "sign", ref, "--key", s.priv, "--skip-tlog-unsafe", "-a", "release=v1").mustSucceed(t)
	sbomFile := filepath.Join(s.dir, "sbom.cdx.json")
	run(t, s.reg.Password, nil, append([]string{"sbom", "registry:" + ref, "-o", "cyclonedx-json=" + sbomFile}, registryArgs(s.reg)...)...).mustSucceed(t)
	findingsFile := filepath.Join(s.dir, "findings.json")
	r := run(t, s.reg.Password, nil, append(append([]string{"scan", "registry:" + ref, "-o", "json=" + findingsFile}, dbArgs(t)...), registryArgs(s.reg)...)...)
	if r.code != 0 {
		t.Fatalf("scan: %s", r.stderr)
	}
	prov, err := predicate.NewProvenance(predicate.ProvenanceInput{
		Source: "./examples/greeter", Platforms: []string{"linux/amd64"},
		Info:    cienv.Info{System: cienv.Local, RepoURL: "https://github.com/sealyard/sealyard", Commit: strings.Repeat("c", 40), BuilderID: "https://github.com/sealyard/sealyard/local"},
		Started: time.Unix(1700000000, 0), Finished: time.Unix(1700000060, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	provFile := s.write(t, "provenance.json", prov)
	for _, a := range []struct{ typ, file string }{{"cyclonedx", sbomFile}, {"slsaprovenance1", provFile}, {"vuln", findingsFile}} {
		s.sealyard(t, "attest", ref, "--key", s.priv, "--skip-tlog-unsafe", "--type", a.typ, "--predicate", a.file).mustSucceed(t)
	}

	out, err := s.cosign(t, "verify", "--key", s.pub, "--insecure-ignore-tlog=true", ref)
	if err != nil {
		t.Fatal(err)
	}
	var sigs []struct {
		Critical struct {
			Image struct {
				Digest string `json:"docker-manifest-digest"`
			} `json:"image"`
		} `json:"critical"`
		Optional map[string]any `json:"optional"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &sigs); err != nil || len(sigs) != 1 {
		t.Fatalf("cosign verify printed %q (%v)", out, err)
	}
	if sigs[0].Critical.Image.Digest != digest || sigs[0].Optional["release"] != "v1" {
		t.Fatalf("cosign verified payload %+v", sigs[0])
	}

	for _, a := range []struct{ typ, uri, file string }{
		{"cyclonedx", predicate.CycloneDX, sbomFile},
		{"slsaprovenance1", predicate.SLSAProvenance1, provFile},
		{"vuln", predicate.Vuln, ""},
	} {
		out, err := s.cosign(t, "verify-attestation", "--key", s.pub, "--insecure-ignore-tlog=true", "--type", a.typ, ref)
		if err != nil {
			t.Fatal(err)
		}
		var env struct{ Payload string }
		if err := json.Unmarshal([]byte(strings.SplitN(strings.TrimSpace(out), "\n", 2)[0]), &env); err != nil {
			t.Fatalf("%s: cosign printed %q", a.typ, out)
		}
		body, _ := base64.StdEncoding.DecodeString(env.Payload)
		st, err := predicate.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if st.PredicateType != a.uri || !st.About(digest) || st.Type != predicate.StatementType {
			t.Fatalf("%s: statement %s about %v", a.typ, st.PredicateType, st.SubjectDigests())
		}
		if a.file != "" && !jsonEqual(t, st.Predicate, mustRead(t, a.file)) {
			t.Fatalf("%s: the predicate cosign verified is not the one sealyard attested", a.typ)
		}
		if a.typ == "vuln" {
			rep, err := predicate.Findings(st.Predicate)
			if err != nil || len(rep.Findings) == 0 || rep.Findings[0].ID != "GO-2021-0113" {
				t.Fatalf("vuln predicate: %v %+v", err, rep)
			}
		}
	}
	// And sealyard agrees.
	s.sealyard(t, "verify", ref, "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom,vuln,provenance").mustSucceed(t)
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// TestSealyardVerifiesStockCosign is the reverse: stock cosign signs and
// attests, sealyard verifies.
func TestSealyardVerifiesStockCosign(t *testing.T) {
	s := newSigning(t)
	ref := s.push(t, "signed-by-cosign")
	if _, err := s.cosign(t, "sign", "--key", s.priv, "--tlog-upload=false", "--yes", ref); err != nil {
		t.Fatal(err)
	}
	sbomFile := filepath.Join(s.dir, "sbom.cdx.json")
	run(t, s.reg.Password, nil, append([]string{"sbom", "registry:" + ref, "-o", "cyclonedx-json=" + sbomFile}, registryArgs(s.reg)...)...).mustSucceed(t)
	if _, err := s.cosign(t, "attest", "--key", s.priv, "--tlog-upload=false", "--yes", "--type", "cyclonedx", "--predicate", sbomFile, ref); err != nil {
		t.Fatal(err)
	}
	r := s.sealyard(t, "verify", ref, "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom", "-o", "json").mustSucceed(t)
	if !strings.Contains(r.stdout, predicate.CycloneDX) {
		t.Fatalf("verify output:\n%s", r.stdout)
	}
	// Another key does not verify it: exit 1, and the message says why.
	other := filepath.Join(s.dir, "other")
	run(t, "", s.env, "keygen", "--output-key-prefix", other).mustSucceed(t)
	bad := s.sealyard(t, "verify", ref, "--key", other+".pub", "--skip-tlog-unsafe")
	if bad.code != ExitDenied || !strings.Contains(bad.stderr, "expected a signature by the key "+other+".pub") {
		t.Fatalf("verify with another key: exit %d %q", bad.code, bad.stderr)
	}
	// Without --skip-tlog-unsafe the unlogged signature is refused.
	vs, _ := ca.NewVirtualSigstore()
	unlogged := s.sealyard(t, "verify", ref, "--key", s.pub, "--trusted-root", s.write(t, "trusted_root.json", virtualsigstore.TrustedRootJSON(t, vs)))
	if unlogged.code != ExitDenied {
		t.Fatalf("an unlogged signature verified without --skip-tlog-unsafe: exit %d %q", unlogged.code, unlogged.stderr)
	}
	_ = context.Background
}

// TestTlogInteropWithStockCosign signs with the transparency log on (an
// in-process Rekor over HTTP, the virtual Sigstore's keys as a local
// trusted root): stock cosign verifies sealyard's logged signature and
// attestation against that root, sealyard verifies cosign's logged
// signature against it, and an unlogged signature is refused with the
// remedy named.
func TestTlogInteropWithStockCosign(t *testing.T) {
	s := newSigning(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rekor := virtualsigstore.RekorServer(t, vs)
	trustedRoot := s.write(t, "trusted_root.json", virtualsigstore.TrustedRootJSON(t, vs))
	var rekorKey []byte
	for _, l := range vs.RekorLogs() {
		der, err := x509.MarshalPKIXPublicKey(l.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		rekorKey = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	rekorKeyFile := s.write(t, "rekor.pub", rekorKey)

	// sealyard signs and attests, logged; stock cosign verifies both.
	ref := s.push(t, "logged")
	s.sealyard(t, "sign", ref, "--key", s.priv, "--rekor-url", rekor).mustSucceed(t)
	prov := s.write(t, "provenance.json", []byte(`{"buildDefinition": {"buildType": "https://sealyard.dev/test"}, "runDetails": {"builder": {"id": "https://sealyard.dev/test"}}}`))
	s.sealyard(t, "attest", ref, "--key", s.priv, "--rekor-url", rekor, "--type", "slsaprovenance1", "--predicate", prov).mustSucceed(t)
	if _, err := s.cosign(t, "verify", "--key", s.pub, "--trusted-root", trustedRoot, ref); err != nil {
		t.Fatalf("stock cosign does not verify sealyard's logged signature: %v", err)
	}
	if _, err := s.cosign(t, "verify-attestation", "--key", s.pub, "--trusted-root", trustedRoot, "--type", "slsaprovenance1", ref); err != nil {
		t.Fatalf("stock cosign does not verify sealyard's logged attestation: %v", err)
	}
	v := s.sealyard(t, "verify", ref, "--key", s.pub, "--trusted-root", trustedRoot, "--require", "provenance").mustSucceed(t)
	if !strings.Contains(v.stdout, "in the transparency log") {
		t.Fatalf("sealyard verify output:\n%s", v.stdout)
	}

	// Stock cosign signs, logged; sealyard verifies it with the log on.
	ref2 := s.push(t, "logged-by-cosign")
	cmdEnv := []string{"SIGSTORE_REKOR_PUBLIC_KEY=" + rekorKeyFile}
	if _, err := s.cosignEnv(t, cmdEnv, "sign", "--key", s.priv, "--rekor-url", rekor, "--use-signing-config=false", "--yes", ref2); err != nil {
		t.Fatal(err)
	}
	v = s.sealyard(t, "verify", ref2, "--key", s.pub, "--trusted-root", trustedRoot).mustSucceed(t)
	if !strings.Contains(v.stdout, "in the transparency log") {
		t.Fatalf("sealyard verify output:\n%s", v.stdout)
	}

	// An unlogged signature does not verify with the log on, and the
	// message names the remedy.
	ref3 := s.push(t, "unlogged")
	s.sealyard(t, "sign", ref3, "--key", s.priv, "--skip-tlog-unsafe").mustSucceed(t)
	r := s.sealyard(t, "verify", ref3, "--key", s.pub, "--trusted-root", trustedRoot)
	if r.code != ExitDenied || !strings.Contains(r.stderr, "--skip-tlog-unsafe") {
		t.Fatalf("an unlogged signature with the log on: exit %d %q", r.code, r.stderr)
	}
	// Another log's trusted root does not vouch for the entries.
	other, _ := ca.NewVirtualSigstore()
	otherRoot := s.write(t, "other_root.json", virtualsigstore.TrustedRootJSON(t, other))
	r = s.sealyard(t, "verify", ref, "--key", s.pub, "--trusted-root", otherRoot)
	if r.code != ExitDenied || !strings.Contains(r.stderr, "Rekor log the trusted root does not name") {
		t.Fatalf("verify against another log's root: exit %d %q", r.code, r.stderr)
	}
}
