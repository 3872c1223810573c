package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/swag/conv"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

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

// virtualRekor logs entries the way Rekor does, signing them with the
// virtual log's key.
type virtualRekor struct {
	vs    *ca.VirtualSigstore
	index atomic.Int64
}

func (r *virtualRekor) CreateLogEntry(params *entries.CreateLogEntryParams, _ ...entries.ClientOption) (*entries.CreateLogEntryCreated, error) {
	ctx := context.Background()
	impl, err := types.UnmarshalEntry(params.ProposedEntry)
	if err != nil {
		return nil, err
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, err
	}
	logID, err := r.vs.RekorLogID()
	if err != nil {
		return nil, err
	}
	now := time.Now().Unix()
	idx := r.index.Add(1)
	set, err := r.vs.RekorSignPayload(tlog.RekorPayload{LogID: logID, IntegratedTime: now, LogIndex: idx, Body: base64.StdEncoding.EncodeToString(body)})
	if err != nil {
		return nil, err
	}
	proof, err := r.vs.GetInclusionProof(body)
	if err != nil {
		return nil, err
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	entry := models.LogEntryAnon{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: conv.Pointer(now),
		LogID:          conv.Pointer(logID),
		LogIndex:       conv.Pointer(idx),
		Verification:   &models.LogEntryAnonVerification{SignedEntryTimestamp: set, InclusionProof: proof},
	}
	uuid := hex.EncodeToString(leaf[:])
	return &entries.CreateLogEntryCreated{ETag: uuid, Payload: models.LogEntry{uuid: entry}}, nil
}

var _ = runtime.JSONConsumer

// withoutCT hides the virtual CT logs: the virtual CA issues certificates
// without SCTs, as a private Fulcio without a CT log does.
type withoutCT struct{ root.TrustedMaterial }

func (withoutCT) CTLogs() map[string]*root.TransparencyLog { return nil }

func keylessSigner(t *testing.T, vs *ca.VirtualSigstore, who string) *sign.Keyless {
	t.Helper()
	cert, priv, err := vs.GenerateLeafCert(who, issuer)
	if err != nil {
		t.Fatal(err)
	}
	token := "e30." + base64.RawURLEncoding.EncodeToString([]byte(`{"email":"`+who+`"}`)) + ".sig"
	return sign.NewKeylessWith(token, fixedCert{cert.Raw},
		sgsign.NewRekor(&sgsign.RekorOptions{Client: &virtualRekor{vs: vs}}),
		func() (sgsign.Keypair, error) { return leafKeypair{priv.(*ecdsa.PrivateKey)}, nil })
}

func TestKeyless(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	kl := keylessSigner(t, vs, identity)
	opts := []sign.Option{sign.WithRegistry(f.reg)}
	for i := 0; i < 2; i++ {
		if _, err := sign.Image(ctx, f.d, kl, opts...); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sign.Attest(ctx, f.d, kl, predicate.SLSAProvenance1, []byte(`{"buildDefinition": {}}`), opts...); err != nil {
		t.Fatal(err)
	}
	trusted := withoutCT{vs}
	res, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(identity, "", issuer, trusted), WithRequire("provenance"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signatures) != 1 || !res.Signatures[0].Logged || !strings.Contains(res.Signatures[0].Signer, identity) {
		t.Fatalf("signatures %+v (signing twice with one identity must leave one)", res.Signatures)
	}
	if _, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless("", `^release-.*@example\.com$`, issuer, trusted)); err != nil {
		t.Fatalf("identity regexp: %v", err)
	}
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless("someone-else@example.com", "", issuer, trusted))
	mustFail(t, err, "expected a signature by identity someone-else@example.com from issuer "+issuer, "signed by identity "+identity+" from issuer "+issuer)
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(identity, "", "https://accounts.example.org", trusted))
	mustFail(t, err, "from issuer https://accounts.example.org")

	// A certificate from another authority is not trusted.
	other, _ := ca.NewVirtualSigstore()
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKeyless(identity, "", issuer, withoutCT{other}))
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
