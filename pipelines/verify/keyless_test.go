package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/sealyard/sealyard/internal/testutil/virtualsigstore"
	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/sign"
)

// The keyless path runs for real against an in-process Sigstore:
// sigstore-go's VirtualSigstore is the certificate authority (Fulcio) and
// the transparency log (Rekor); sigstore-go's own Rekor client code talks
// to it through an in-process client. The public instances are not
// reachable from the test machines.

const (
	identity = "release-bot@example.com"
	issuer   = "https://oidc.example.com"
)

// fakeToken is an unsigned JWT naming the identity (the virtual CA does not
// check tokens; a real Fulcio does).
var fakeToken = "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"email":"`+identity+`"}`)) + ".sig"

type leafKeypair struct {
	priv *ecdsa.PrivateKey
}

func (k leafKeypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}
func (k leafKeypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}
func (k leafKeypair) GetHint() []byte         { return nil }
func (k leafKeypair) GetKeyAlgorithm() string { return "ECDSA" }
func (k leafKeypair) GetPublicKey() crypto.PublicKey {
	return k.priv.Public()
}
func (k leafKeypair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.priv.Public())
	return string(b), err
}
func (k leafKeypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	d := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, d[:])
	return sig, d[:], err
}

// fixedCert is a certificate provider handing out the virtual CA's leaf.
type fixedCert struct{ der []byte }

func (c fixedCert) GetCertificate(context.Context, sgsign.Keypair, *sgsign.CertificateProviderOptions) ([]byte, error) {
	return c.der, nil
}

// withoutCT hides the virtual CT logs: the virtual CA issues certificates
// without SCTs, as a private Fulcio without a CT log does.
type withoutCT struct{ root.TrustedMaterial }

func (withoutCT) CTLogs() map[string]*root.TransparencyLog { return nil }

func keylessSigner(t *testing.T, vs *ca.VirtualSigstore, who string) *sign.Keyless {
	t.Helper()
	token := "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+issuer+`","email":"`+who+`"}`)) + ".sig"
	return keylessFor(t, vs, token, who, issuer, nil)
}

// calls counts what a keyless signer asked for.
type calls struct{ keypairs, certs atomic.Int32 }

type countingCert struct {
	fixedCert
	n *atomic.Int32
}

func (c countingCert) GetCertificate(ctx context.Context, kp sgsign.Keypair, o *sgsign.CertificateProviderOptions) ([]byte, error) {
	c.n.Add(1)
	return c.fixedCert.GetCertificate(ctx, kp, o)
}

// keylessFor signs with token; the virtual CA certifies san from
// certIssuer (as Fulcio would for that token).
func keylessFor(t *testing.T, vs *ca.VirtualSigstore, token, san, certIssuer string, n *calls) *sign.Keyless {
	t.Helper()
	cert, priv, err := vs.GenerateLeafCert(san, certIssuer)
	if err != nil {
		t.Fatal(err)
	}
	if n == nil {
		n = &calls{}
	}
	return sign.NewKeylessWith(token, countingCert{fixedCert{cert.Raw}, &n.certs},
		sgsign.NewRekor(&sgsign.RekorOptions{Client: &virtualsigstore.Rekor{VS: vs}}),
		func() (sgsign.Keypair, error) {
			n.keypairs.Add(1)
			return leafKeypair{priv.(*ecdsa.PrivateKey)}, nil
		})
}

func githubToken(claims string) string {
	return "e30." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
}

// A rerun of the same workflow in GitHub Actions adds no second
// signature: the token's job_workflow_ref names the identity Fulcio
// certifies, and the existing signature's certificate chains to the
// trusted root. One key and one certificate serve the whole run. The
// identity recorded is the certificate's.
func TestKeylessRerunInGitHubActions(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	const workflow = "acme/app/.github/workflows/release.yml@refs/heads/main"
	san := "https://github.com/" + workflow
	token := githubToken(`{"iss":"` + sign.GitHubActionsIssuer + `","sub":"repo:acme/app:ref:refs/heads/main","job_workflow_ref":"` + workflow + `","repository":"acme/app"}`)
	trusted := withoutCT{vs}
	opts := []sign.Option{sign.WithRegistry(f.reg), sign.WithTrustedMaterial(trusted)}
	for run := 0; run < 2; run++ {
		n := &calls{}
		kl := keylessFor(t, vs, token, san, sign.GitHubActionsIssuer, n)
		if kl.Expected().SAN != san || kl.Expected().Issuer != sign.GitHubActionsIssuer {
			t.Fatalf("expected identity %+v", kl.Expected())
		}
		if _, err := sign.Image(ctx, f.d, kl, opts...); err != nil {
			t.Fatal(err)
		}
		stmts := []sign.Statement{
			{PredicateType: predicate.SLSAProvenance1, Predicate: []byte(`{"buildDefinition": {}}`)},
			{PredicateType: predicate.Vuln, Predicate: []byte(`{"scanner": {}}`)},
			{PredicateType: predicate.CycloneDX, Predicate: []byte(`{"bomFormat": "CycloneDX"}`)},
		}
		if _, err := sign.AttestAll(ctx, f.d, kl, stmts, opts...); err != nil {
			t.Fatal(err)
		}
		if run == 0 && (n.keypairs.Load() != 1 || n.certs.Load() != 1) {
			t.Fatalf("one run made %d key pairs and asked for %d certificates, want 1 and 1", n.keypairs.Load(), n.certs.Load())
		}
		if want := "keyless identity " + san + " from issuer " + sign.GitHubActionsIssuer; kl.String() != want {
			t.Fatalf("signer %q, want %q", kl.String(), want)
		}
	}
	res, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(san, "", sign.GitHubActionsIssuer, trusted), WithoutSCTUnsafe(), WithRequire("provenance", "vuln", "sbom"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signatures) != 1 {
		t.Fatalf("%d signatures after a rerun, want 1", len(res.Signatures))
	}
	if len(res.Attestations) != 3 {
		t.Fatalf("%d attestations after a rerun, want 3 (each replaced its own)", len(res.Attestations))
	}
}

// A signature planted with a certificate from another authority that
// claims this run's identity does not stop sealyard from signing.
func TestKeylessPlantedCertificateDoesNotSkipSigning(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	vs, _ := ca.NewVirtualSigstore()
	attacker, _ := ca.NewVirtualSigstore()
	token := "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+issuer+`","email":"`+identity+`"}`)) + ".sig"
	// The attacker signs the image with a certificate of their own CA
	// naming our identity.
	if _, err := sign.Image(ctx, f.d, keylessFor(t, attacker, token, identity, issuer, nil), sign.WithRegistry(f.reg)); err != nil {
		t.Fatal(err)
	}
	if _, err := sign.Image(ctx, f.d, keylessFor(t, vs, token, identity, issuer, nil), sign.WithRegistry(f.reg), sign.WithTrustedMaterial(withoutCT{vs})); err != nil {
		t.Fatal(err)
	}
	res, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(identity, "", issuer, withoutCT{vs}), WithoutSCTUnsafe())
	if err != nil {
		t.Fatalf("sealyard did not sign over the planted signature: %v", err)
	}
	if len(res.Signatures) != 1 {
		t.Fatalf("%d valid signatures, want ours alone", len(res.Signatures))
	}
}

func TestKeyless(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	kl := keylessSigner(t, vs, identity)
	opts := []sign.Option{sign.WithRegistry(f.reg), sign.WithTrustedMaterial(withoutCT{vs})}
	for i := 0; i < 2; i++ {
		if _, err := sign.Image(ctx, f.d, kl, opts...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sign.Attest(ctx, f.d, kl, predicate.SLSAProvenance1, []byte(`{"buildDefinition": {}}`), opts...); err != nil {
		t.Fatal(err)
	}
	trusted := withoutCT{vs}
	res, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(identity, "", issuer, trusted), WithoutSCTUnsafe(), WithRequire("provenance"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signatures) != 1 || !res.Signatures[0].Logged || !strings.Contains(res.Signatures[0].Signer, identity) {
		t.Fatalf("signatures %+v (signing twice with one identity must leave one)", res.Signatures)
	}
	if _, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless("", `^release-.*@example\.com$`, issuer, trusted), WithoutSCTUnsafe()); err != nil {
		t.Fatalf("identity regexp: %v", err)
	}
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless("someone-else@example.com", "", issuer, trusted), WithoutSCTUnsafe())
	mustFail(t, err, "expected a signature by identity someone-else@example.com from issuer "+issuer, "signed by identity "+identity+" from issuer "+issuer)
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(identity, "", "https://accounts.example.org", trusted), WithoutSCTUnsafe())
	mustFail(t, err, "from issuer https://accounts.example.org")

	// SCTs are required unless the caller says the Fulcio logs to no CT
	// log.
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(identity, "", issuer, trusted))
	mustFail(t, err, "carries no signed certificate timestamp (SCT)", "--insecure-ignore-sct")

	// A certificate from another authority is not trusted.
	other, _ := ca.NewVirtualSigstore()
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(identity, "", issuer, withoutCT{other}), WithoutSCTUnsafe())
	mustFail(t, err, "found 1 signature(s), none valid")
}

func TestIDToken(t *testing.T) {
	env := map[string]string{"SIGSTORE_ID_TOKEN": "tok"}
	got, err := sign.IDToken(context.Background(), func(k string) string { return env[k] }, nil)
	if err != nil || got != "tok" {
		t.Fatalf("%q %v", got, err)
	}
	_, err = sign.IDToken(context.Background(), func(string) string { return "" }, nil)
	if err == nil || !strings.Contains(err.Error(), "id-token: write") {
		t.Fatalf("no token: %v", err)
	}
	_ = x509.NewCertPool
}
