package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"

	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/registry"
)

func testRegistry(t *testing.T) (string, *registry.Client) {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	c, err := registry.New(registry.WithoutDockerConfig(), registry.WithEnv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(srv.URL, "http://"), c
}

func pushRandom(t *testing.T, host string, c *registry.Client, index bool) name.Digest {
	t.Helper()
	ref, _ := name.ParseReference(host + "/app:v1")
	var d name.Digest
	if index {
		idx, _ := random.Index(128, 1, 2)
		if err := remote.WriteIndex(ref, idx, c.RemoteOptions(context.Background())...); err != nil {
			t.Fatal(err)
		}
		h, _ := idx.Digest()
		d = ref.Context().Digest(h.String())
	} else {
		img, _ := random.Image(128, 1)
		if err := remote.Write(ref, img, c.RemoteOptions(context.Background())...); err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		d = ref.Context().Digest(h.String())
	}
	return d
}

func testKey(t *testing.T) (*Key, string, string) {
	t.Helper()
	dir := t.TempDir()
	priv, pub, err := GenerateKeyPair(filepath.Join(dir, "cosign"), []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := LoadKey(context.Background(), priv, func() ([]byte, error) { return []byte("correct horse"), nil })
	if err != nil {
		t.Fatal(err)
	}
	return k, priv, pub
}

func TestKeys(t *testing.T) {
	k, priv, pub := testKey(t)
	data, _ := os.ReadFile(priv)
	if !strings.Contains(string(data), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Fatalf("the private key is not encrypted:\n%s", data)
	}
	if fi, _ := os.Stat(priv); fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v", fi.Mode().Perm())
	}
	pubData, _ := os.ReadFile(pub)
	if string(pubData) != string(k.PublicKeyPEM()) {
		t.Fatal("cosign.pub is not the loaded key's public half")
	}
	if _, _, err := GenerateKeyPair(strings.TrimSuffix(priv, ".key"), []byte("x")); err == nil {
		t.Fatal("an existing key was overwritten")
	}
	_, err := LoadKey(context.Background(), priv, func() ([]byte, error) { return []byte("wrong password"), nil })
	if !errors.Is(err, ErrKey) || strings.Contains(err.Error(), "wrong password") || !strings.Contains(err.Error(), "COSIGN_PASSWORD") {
		t.Fatalf("wrong password: %v", err)
	}
	t.Setenv("SEALYARD_TEST_KEY", string(data))
	fromEnv, err := LoadKey(context.Background(), "env://SEALYARD_TEST_KEY", func() ([]byte, error) { return []byte("correct horse"), nil })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.String(), "key "+priv+" (sha256:") || k.Fingerprint() != fromEnv.Fingerprint() {
		t.Fatalf("key %s, fingerprint %s; from env %s", k, k.Fingerprint(), fromEnv.Fingerprint())
	}
	if string(fromEnv.PublicKeyPEM()) != string(pubData) {
		t.Fatal("env:// loaded a different key")
	}
	if _, err := LoadKey(context.Background(), "hashivault://no-such-key", nil); err == nil {
		t.Fatal("a KMS key loaded without a KMS")
	}
}

func TestSignDoesNotDuplicate(t *testing.T) {
	ctx := context.Background()
	host, c := testRegistry(t)
	d := pushRandom(t, host, c, true)
	k, _, _ := testKey(t)
	for i := 0; i < 2; i++ {
		res, err := Image(ctx, d, k, WithRegistry(c), WithoutTlogUnsafe(), WithRecursive(), WithAnnotations(map[string]string{"run": "demo"}))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Digests) != 3 || res.Tlog || (i == 0 && !res.Referrers) {
			t.Fatalf("run %d: result %+v", i+1, res)
		}
	}
	for _, target := range []string{d.DigestStr()} {
		sigs, err := Signatures(ctx, d.Context().Digest(target), WithRegistry(c))
		if err != nil {
			t.Fatal(err)
		}
		if len(sigs) != 1 {
			t.Fatalf("%d signatures after signing twice, want 1", len(sigs))
		}
		p, _ := sigs[0].Payload()
		if !strings.Contains(string(p), d.DigestStr()) || !strings.Contains(string(p), `"run":"demo"`) {
			t.Fatalf("payload %s", p)
		}
	}
	refs, err := remote.Referrers(d, c.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := refs.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if n := countReferrers(im, "signatures"); n != 1 {
		t.Fatalf("%d signature referrers after signing twice on a registry that serves the referrers API, want 1", n)
	}
}

func countReferrers(im *v1.IndexManifest, kind string) int {
	n := 0
	for _, m := range im.Manifests {
		if m.Annotations[referrerAnnotation] == kind {
			n++
		}
	}
	return n
}

func TestAttestReplacesByType(t *testing.T) {
	ctx := context.Background()
	host, c := testRegistry(t)
	d := pushRandom(t, host, c, false)
	k, _, _ := testKey(t)
	for i, pt := range []string{predicate.CycloneDX, predicate.CycloneDX, predicate.VSA} {
		pred := json.RawMessage(`{"run": ` + string(rune('0'+i)) + `}`)
		if _, err := Attest(ctx, d, k, pt, pred, WithRegistry(c), WithoutTlogUnsafe()); err != nil {
			t.Fatal(err)
		}
	}
	all := storedAttestations(t, d, c)
	if len(all) != 2 {
		t.Fatalf("%d attestations, want one CycloneDX (the second replaced the first) and one VSA", len(all))
	}
	refs, err := remote.Referrers(d, c.RemoteOptions(ctx)...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := refs.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if n := countReferrers(im, "attestations"); n != 1 {
		t.Fatalf("%d attestation referrers after three attestations, want 1 holding both", n)
	}
	for _, m := range im.Manifests {
		ref, err := remote.Image(d.Context().Digest(m.Digest.String()), c.RemoteOptions(ctx)...)
		if err != nil {
			t.Fatal(err)
		}
		rm, _ := ref.Manifest()
		if rm.Subject == nil || rm.Subject.Digest.String() != d.DigestStr() {
			t.Fatalf("referrer %s has subject %+v, want %s", m.Digest, rm.Subject, d.DigestStr())
		}
		if layers, _ := ref.Layers(); m.Annotations[referrerAnnotation] == "attestations" && len(layers) != 2 {
			t.Fatalf("the attestation referrer holds %d layers, want 2", len(layers))
		}
	}
	if _, err := Attest(ctx, d, k, predicate.CycloneDX, json.RawMessage(`not json`), WithRegistry(c), WithoutTlogUnsafe()); err == nil {
		t.Fatal("a predicate that is not JSON was attested")
	}
}

func TestTlogIsTheDefault(t *testing.T) {
	ctx := context.Background()
	host, c := testRegistry(t)
	d := pushRandom(t, host, c, false)
	k, _, _ := testKey(t)
	_, err := Image(ctx, d, k, WithRegistry(c), WithRekorURL("http://127.0.0.1:1"))
	if err == nil || !strings.Contains(err.Error(), "logging the signature to http://127.0.0.1:1") {
		t.Fatalf("signing without a reachable Rekor: %v", err)
	}
	if sigs, _ := Signatures(ctx, d, WithRegistry(c)); len(sigs) != 0 {
		t.Fatal("a signature was stored although logging failed")
	}
}

func TestKeyFromPEM(t *testing.T) {
	k, priv, _ := testKey(t)
	data, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := KeyFromPEM("the key secret", data, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if mem.Fingerprint() != k.Fingerprint() || !strings.HasPrefix(mem.String(), "key the key secret (") {
		t.Fatalf("key from PEM: %s, want the fingerprint of %s", mem, k)
	}
	for _, tc := range []struct {
		pem, password string
	}{{"", "x"}, {string(data), "wrong horse"}, {"-----BEGIN NOT A KEY-----\nAAAA\n-----END NOT A KEY-----\n", "x"}} {
		_, err := KeyFromPEM("the key secret", []byte(tc.pem), []byte(tc.password))
		if !errors.Is(err, ErrKey) || strings.Contains(err.Error(), tc.password) || (len(tc.pem) > 60 && strings.Contains(err.Error(), tc.pem[40:60])) {
			t.Fatalf("KeyFromPEM(%.20q): %v", tc.pem, err)
		}
	}
}

// Re-attesting a type replaces only the same signer's attestation of it:
// another team's attestation of that type stays.
func TestAttestKeepsOtherSignersAttestations(t *testing.T) {
	ctx := context.Background()
	host, c := testRegistry(t)
	d := pushRandom(t, host, c, false)
	ours, _, _ := testKey(t)
	theirs, _, _ := testKey(t)
	opts := []Option{WithRegistry(c), WithoutTlogUnsafe()}
	for _, step := range []struct {
		k    *Key
		pred string
	}{{theirs, `{"by": "them"}`}, {ours, `{"by": "us", "run": 1}`}, {ours, `{"by": "us", "run": 2}`}} {
		if _, err := Attest(ctx, d, step.k, predicate.SLSAProvenance1, json.RawMessage(step.pred), opts...); err != nil {
			t.Fatal(err)
		}
	}
	all := storedAttestations(t, d, c)
	var theirsLeft, oursLeft int
	for _, a := range all {
		env, _ := a.Payload()
		switch {
		case theirs.owns(env, nil):
			theirsLeft++
		case ours.owns(env, nil):
			oursLeft++
			if !statementHas(t, env, `"run":2`) {
				t.Fatalf("our remaining attestation is not the newest")
			}
		}
	}
	if theirsLeft != 1 || oursLeft != 1 || len(all) != 2 {
		t.Fatalf("%d attestations: theirs %d, ours %d; want one each", len(all), theirsLeft, oursLeft)
	}
}

func statementHas(t *testing.T, env []byte, s string) bool {
	t.Helper()
	var e struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(env, &e); err != nil {
		t.Fatal(err)
	}
	body, _ := base64.StdEncoding.DecodeString(e.Payload)
	return strings.Contains(string(body), s)
}

// storedAttestations reads the attestations stored for d.
func storedAttestations(t *testing.T, d name.Digest, c *registry.Client) []oci.Signature {
	t.Helper()
	se, err := ociremote.SignedEntity(d, ociremote.WithRemoteOptions(c.RemoteOptions(context.Background())...))
	if err != nil {
		t.Fatal(err)
	}
	atts, err := se.Attestations()
	if err != nil {
		t.Fatal(err)
	}
	all, err := atts.Get()
	if err != nil {
		t.Fatal(err)
	}
	return all
}
