package verify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"

	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/sign"
)

type fixture struct {
	host string
	reg  *registry.Client
	key  *sign.Key
	pub  string
	d    name.Digest
}

func setup(t *testing.T) *fixture {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)), ggcrregistry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	reg, err := registry.New(registry.WithoutDockerConfig(), registry.WithEnv(func(string) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{host: strings.TrimPrefix(srv.URL, "http://"), reg: reg}
	f.key, f.pub = newKey(t)
	f.d = f.push(t, "v1")
	return f
}

func newKey(t *testing.T) (*sign.Key, string) {
	t.Helper()
	priv, pub, err := sign.GenerateKeyPair(filepath.Join(t.TempDir(), "cosign"), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := sign.LoadKey(context.Background(), priv, func() ([]byte, error) { return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	return k, pub
}

func (f *fixture) push(t *testing.T, tag string) name.Digest {
	t.Helper()
	ref, _ := name.ParseReference(f.host + "/app:" + tag)
	img, _ := random.Image(128, 1)
	if err := remote.Write(ref, img, f.reg.RemoteOptions(context.Background())...); err != nil {
		t.Fatal(err)
	}
	h, _ := img.Digest()
	return ref.Context().Digest(h.String())
}

// vsa is a verification summary about d with the given result and mode.
func vsa(t *testing.T, d name.Digest, passed, audit bool, policyDigest string) json.RawMessage {
	t.Helper()
	b, err := predicate.NewVSA(predicate.DecisionInput{
		Passed: passed, Audit: audit, ResourceURI: d.String(), PolicyDigest: policyDigest,
		DBDigest: "sha256:" + strings.Repeat("d", 64), InputDigest: "sha256:" + strings.Repeat("1", 64), DecisionDigest: "sha256:" + strings.Repeat("2", 64),
		ToolVersion: "test", Time: time.Unix(1750000000, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const testPolicyDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func (f *fixture) signAll(t *testing.T, d name.Digest, k *sign.Key) {
	t.Helper()
	f.signAllWith(t, d, k, vsa(t, d, true, false, testPolicyDigest))
}

func (f *fixture) signAllWith(t *testing.T, d name.Digest, k *sign.Key, decision json.RawMessage) {
	t.Helper()
	ctx := context.Background()
	opts := []sign.Option{sign.WithRegistry(f.reg), sign.WithoutTlogUnsafe()}
	if _, err := sign.Image(ctx, d, k, opts...); err != nil {
		t.Fatal(err)
	}
	var stmts []sign.Statement
	for _, pt := range []string{predicate.CycloneDX, predicate.Vuln, predicate.SLSAProvenance1, predicate.VSA} {
		st := sign.Statement{PredicateType: pt, Predicate: json.RawMessage(`{"type": "` + pt + `"}`)}
		if pt == predicate.VSA {
			st.Predicate = decision
		}
		if pt == predicate.CycloneDX {
			st.Platform = "linux/arm64"
		}
		stmts = append(stmts, st)
	}
	if _, err := sign.AttestAll(ctx, d, k, stmts, opts...); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) verify(t *testing.T, ref string, k string, require ...string) (*Result, error) {
	t.Helper()
	v, err := sign.LoadVerifier(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	return Verify(context.Background(), ref, WithKey(v, k), WithRegistry(f.reg), WithoutTlogUnsafe(), WithRequire(require...))
}

var all = []string{"sbom", "vuln", "provenance", "decision"}

func TestVerifies(t *testing.T) {
	f := setup(t)
	f.signAll(t, f.d, f.key)
	res, err := f.verify(t, f.host+"/app:v1", f.pub, all...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != f.d.DigestStr() || len(res.Signatures) != 1 || len(res.Attestations) != 4 {
		t.Fatalf("result %+v", res)
	}
	if got := res.Attested(predicate.VSA); len(got) != 1 || !got[0].About(f.d.DigestStr()) {
		t.Fatalf("VSA statements %+v", got)
	}
	for _, a := range res.Attestations {
		want := ""
		if a.PredicateType == predicate.CycloneDX {
			want = "linux/arm64"
		}
		if a.Platform != want {
			t.Fatalf("the %s attestation verified with platform %q, want %q", a.PredicateType, a.Platform, want)
		}
	}
}

func TestRejects(t *testing.T) {
	t.Run("another key", func(t *testing.T) {
		f := setup(t)
		other, _ := newKey(t)
		f.signAll(t, f.d, other)
		_, err := f.verify(t, f.d.String(), f.pub)
		mustFail(t, err, "expected a signature by the key "+f.pub, "found 1 signature(s), none valid", "does not verify with the accepted key")
	})
	t.Run("tag moved", func(t *testing.T) {
		f := setup(t)
		f.signAll(t, f.d, f.key)
		moved := f.push(t, "v1")
		_, err := f.verify(t, f.host+"/app:v1", f.pub)
		mustFail(t, err, moved.DigestStr()+" (which "+f.host+"/app:v1 points at now)", "found no signature at all")
	})
	t.Run("missing attestation", func(t *testing.T) {
		f := setup(t)
		if _, err := sign.Image(context.Background(), f.d, f.key, sign.WithRegistry(f.reg), sign.WithoutTlogUnsafe()); err != nil {
			t.Fatal(err)
		}
		if _, err := sign.Attest(context.Background(), f.d, f.key, predicate.CycloneDX, json.RawMessage(`{}`), sign.WithRegistry(f.reg), sign.WithoutTlogUnsafe()); err != nil {
			t.Fatal(err)
		}
		_, err := f.verify(t, f.d.String(), f.pub, all...)
		mustFail(t, err, "expected attestations vuln ("+predicate.Vuln+"), provenance", "found verified: ["+predicate.CycloneDX+"]")
	})
	t.Run("subject is another digest", func(t *testing.T) {
		f := setup(t)
		f.signAll(t, f.d, f.key)
		other := f.push(t, "other")
		f.attachStatement(t, f.d, other, predicate.SLSAProvenance1, false)
		_, err := f.verify(t, f.d.String(), f.pub, "provenance")
		// the good provenance was replaced by the one about another digest
		mustFail(t, err, "("+predicate.SLSAProvenance1+") is about "+other.DigestStr()+", not "+f.d.DigestStr())
	})
	t.Run("tampered payload", func(t *testing.T) {
		f := setup(t)
		f.signAll(t, f.d, f.key)
		f.attachStatement(t, f.d, f.d, predicate.VSA, true)
		_, err := f.verify(t, f.d.String(), f.pub, "decision")
		mustFail(t, err, "("+predicate.VSA+")", "does not verify with the accepted key")
	})
}

// --require decision accepts only a decision that PASSED, about this
// digest, under the required policy; audit-mode FAILED results only when
// asked to.
func TestDecisionVerdict(t *testing.T) {
	ctx := context.Background()
	other := "sha256:" + strings.Repeat("b", 64)
	for _, tc := range []struct {
		name     string
		decision func(f *fixture) json.RawMessage
		opts     []Option
		wantErr  string
	}{
		{"passed", func(f *fixture) json.RawMessage { return vsa(t, f.d, true, false, testPolicyDigest) }, nil, ""},
		{"passed under the required policy", func(f *fixture) json.RawMessage { return vsa(t, f.d, true, false, testPolicyDigest) }, []Option{WithPolicyDigest(testPolicyDigest)}, ""},
		{"another policy", func(f *fixture) json.RawMessage { return vsa(t, f.d, true, false, testPolicyDigest) }, []Option{WithPolicyDigest(other)}, "the decision used policy " + testPolicyDigest + ", not the required " + other},
		{"failed, enforce", func(f *fixture) json.RawMessage { return vsa(t, f.d, false, false, testPolicyDigest) }, []Option{WithAuditDecisionsUnsafe()}, "the decision FAILED the policies"},
		{"failed, audit", func(f *fixture) json.RawMessage { return vsa(t, f.d, false, true, testPolicyDigest) }, nil, "FAILED the policies in audit mode"},
		{"failed, audit, allowed", func(f *fixture) json.RawMessage { return vsa(t, f.d, false, true, testPolicyDigest) }, []Option{WithAuditDecisionsUnsafe()}, ""},
		{"about another image", func(f *fixture) json.RawMessage { return vsa(t, f.push(t, "x"), true, false, testPolicyDigest) }, nil, "the decision is about"},
		{"not a summary", func(f *fixture) json.RawMessage { return json.RawMessage(`{"verificationResult": "MAYBE"}`) }, nil, `"MAYBE" is neither PASSED nor FAILED`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			f.signAllWith(t, f.d, f.key, tc.decision(f))
			v, _ := sign.LoadVerifier(ctx, f.pub)
			res, err := Verify(ctx, f.d.String(), append([]Option{WithKey(v, f.pub), WithRegistry(f.reg), WithoutTlogUnsafe(), WithRequire("decision")}, tc.opts...)...)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Decision == nil || res.Decision.Policy != testPolicyDigest {
					t.Fatalf("decision %+v", res.Decision)
				}
				return
			}
			mustFail(t, err, tc.wantErr)
		})
	}
	// A FAILED decision beside a PASSED one by another signer is no pass.
	f := setup(t)
	f.signAll(t, f.d, f.key)
	k2, pub2 := newKey(t)
	if _, err := sign.Attest(ctx, f.d, k2, predicate.VSA, vsa(t, f.d, false, false, testPolicyDigest), sign.WithRegistry(f.reg), sign.WithoutTlogUnsafe()); err != nil {
		t.Fatal(err)
	}
	_ = pub2
	if _, err := f.verify(t, f.d.String(), f.pub, "decision"); err != nil {
		t.Fatalf("the other signer's FAILED decision does not verify with our key and must not count: %v", err)
	}
}

func mustFail(t *testing.T, err error, wants ...string) {
	t.Helper()
	if !errors.Is(err, ErrVerification) {
		t.Fatalf("want a verification failure, got %v", err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error does not say %q:\n%v", w, err)
		}
	}
}

// attachStatement signs a statement about subject with the fixture key and
// stores it on target, replacing the attestation of its type; with tamper,
// the payload is changed after signing.
func (f *fixture) attachStatement(t *testing.T, target, subject name.Digest, pt string, tamper bool) {
	t.Helper()
	ctx := context.Background()
	stmt, err := predicate.New(subject, pt, json.RawMessage(`{"result": "PASSED"}`))
	if err != nil {
		t.Fatal(err)
	}
	wrapped := signedEnvelope(t, f.key, stmt)
	if tamper {
		var env map[string]any
		json.Unmarshal(wrapped, &env)
		forged := bytes.Replace(stmt, []byte("PASSED"), []byte("FORGED"), 1)
		env["payload"] = base64.StdEncoding.EncodeToString(forged)
		wrapped, _ = json.Marshal(env)
	}
	att, err := static.NewAttestation(wrapped, static.WithLayerMediaType(ctypes.DssePayloadType), static.WithAnnotations(map[string]string{"predicateType": pt}))
	if err != nil {
		t.Fatal(err)
	}
	ro := []ociremote.Option{ociremote.WithRemoteOptions(f.reg.RemoteOptions(ctx)...)}
	se, err := ociremote.SignedEntity(target, ro...)
	if err != nil {
		t.Fatal(err)
	}
	newSE, err := mutate.AttachAttestationToEntity(se, att, mutate.WithReplaceOp(replace(pt)))
	if err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteAttestations(target.Repository, newSE, ro...); err != nil {
		t.Fatal(err)
	}
}
