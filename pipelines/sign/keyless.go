package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"

	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// DefaultFulcioURL is the public Fulcio instance.
const DefaultFulcioURL = "https://fulcio.sigstore.dev"

// Keyless signs with a short-lived certificate Fulcio issues for an OIDC
// identity; every signature is logged to Rekor.
//
// One run uses one ephemeral key and one certificate for the signature and
// every attestation.
type Keyless struct {
	token   string
	certs   sgsign.CertificateProvider
	tlog    sgsign.Transparency
	keypair func() (sgsign.Keypair, error)
	// want is the identity and issuer Fulcio will certify for the token
	// (read from its claims, unverified: only compared with certificates
	// that do verify).
	want Identity

	mu   sync.Mutex
	kp   sgsign.Keypair
	cert []byte // DER, once issued
}

// Identity is a keyless signer's identity: the certificate's subject
// alternative name and the OIDC issuer.
type Identity struct {
	SAN    string `json:"san"`
	Issuer string `json:"issuer"`
}

// NewKeyless signs with certificates from the Fulcio at fulcioURL for the
// OIDC token, and logs to the Rekor at rekorURL.
func NewKeyless(token, fulcioURL, rekorURL string) (*Keyless, error) {
	if token == "" {
		return nil, errors.New("keyless signing needs an OIDC identity token (SIGSTORE_ID_TOKEN, or the GitHub Actions or GitLab CI token environment)")
	}
	return NewKeylessWith(token,
		sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: fulcioURL, Retries: 2}),
		sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: rekorURL, Retries: 2}), nil), nil
}

// String names the signer: the identity and issuer of the certificate
// Fulcio issued, once it did; before that, the ones the token claims.
func (k *Keyless) String() string {
	id := k.want
	if c := k.certificate(); c != nil {
		id = certIdentity(c)
	}
	if id.SAN == "" {
		return "keyless identity"
	}
	return fmt.Sprintf("keyless identity %s from issuer %s", id.SAN, id.Issuer)
}

// Expected is the identity and issuer the token will be certified for.
func (k *Keyless) Expected() Identity { return k.want }

func (k *Keyless) certificate() *x509.Certificate {
	k.mu.Lock()
	der := k.cert
	k.mu.Unlock()
	if der == nil {
		return nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil
	}
	return c
}

// ephemeral returns the run's one key pair, made on first use.
func (k *Keyless) ephemeral() (sgsign.Keypair, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.kp == nil {
		kp, err := k.keypair()
		if err != nil {
			return nil, err
		}
		k.kp = kp
	}
	return k.kp, nil
}

// GetCertificate asks the certificate provider once per run; the
// signature and all the attestations carry the same certificate.
func (k *Keyless) GetCertificate(ctx context.Context, kp sgsign.Keypair, opts *sgsign.CertificateProviderOptions) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cert != nil {
		return k.cert, nil
	}
	der, err := k.certs.GetCertificate(ctx, kp, opts)
	if err != nil {
		return nil, err
	}
	k.cert = der
	return der, nil
}

func (k *Keyless) bundle(ctx context.Context, content sgsign.Content) (*protobundle.Bundle, error) {
	kp, err := k.ephemeral()
	if err != nil {
		return nil, err
	}
	b, err := sgsign.Bundle(content, kp, sgsign.BundleOptions{
		CertificateProvider:        k,
		CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: k.token},
		TransparencyLogs:           []sgsign.Transparency{k.tlog},
		Context:                    ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("keyless signing: %w", err)
	}
	return b, nil
}

// cosignOptions turns a Sigstore bundle's certificate and log entry into
// the annotations cosign stores with classic signatures.
func cosignOptions(b *protobundle.Bundle) ([]static.Option, []byte, error) {
	vm := b.GetVerificationMaterial()
	var der []byte
	if c := vm.GetCertificate(); c != nil {
		der = c.GetRawBytes()
	} else if ch := vm.GetX509CertificateChain(); ch != nil && len(ch.GetCertificates()) > 0 {
		der = ch.GetCertificates()[0].GetRawBytes()
	}
	if der == nil {
		return nil, nil, errors.New("the keyless bundle holds no certificate")
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	entries := vm.GetTlogEntries()
	if len(entries) == 0 || entries[0].GetInclusionPromise() == nil {
		return nil, nil, errors.New("the keyless bundle holds no transparency log entry")
	}
	e := entries[0]
	rb := &cbundle.RekorBundle{
		SignedEntryTimestamp: e.GetInclusionPromise().GetSignedEntryTimestamp(),
		Payload: cbundle.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody()),
			IntegratedTime: e.GetIntegratedTime(),
			LogIndex:       e.GetLogIndex(),
			LogID:          hex.EncodeToString(e.GetLogId().GetKeyId()),
		},
	}
	return []static.Option{static.WithCertChain(certPEM, nil), static.WithBundle(rb)}, certPEM, nil
}

func (k *Keyless) signPayload(ctx context.Context, pl []byte, _ *options) (string, []static.Option, error) {
	b, err := k.bundle(ctx, &sgsign.PlainData{Data: pl})
	if err != nil {
		return "", nil, err
	}
	ms := b.GetMessageSignature()
	if ms == nil {
		return "", nil, errors.New("the keyless bundle holds no message signature")
	}
	opts, _, err := cosignOptions(b)
	if err != nil {
		return "", nil, err
	}
	return base64.StdEncoding.EncodeToString(ms.GetSignature()), opts, nil
}

func (k *Keyless) signStatement(ctx context.Context, stmt []byte, _ *options) ([]byte, []static.Option, error) {
	b, err := k.bundle(ctx, &sgsign.DSSEData{Data: stmt, PayloadType: "application/vnd.in-toto+json"})
	if err != nil {
		return nil, nil, err
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, nil, errors.New("the keyless bundle holds no DSSE envelope")
	}
	// These exact bytes are what sigstore-go logged (it hashes
	// json.Marshal of the envelope), and what cosign compares the log
	// entry against.
	raw, err := json.Marshal(env)
	if err != nil {
		return nil, nil, err
	}
	opts, _, err := cosignOptions(b)
	if err != nil {
		return nil, nil, err
	}
	return raw, opts, nil
}

// recognizes treats an existing signature over the same payload as this
// signer's when its certificate chains to the trusted material's Fulcio,
// names the identity and issuer this run's token will be certified for,
// and its signature verifies with the certificate's key. Without trusted
// material nothing is recognised, and the image is signed again: a
// duplicate is harmless, a planted certificate that stopped signing would
// not be.
func (k *Keyless) recognizes(sig, payload, certPEM []byte, o *options) bool {
	if k.want.SAN == "" || k.want.Issuer == "" || certPEM == nil || o.trusted == nil {
		return false
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return false
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil || certIdentity(c) != k.want {
		return false
	}
	if _, err := sgverify.VerifyLeafCertificate(c.NotBefore.Add(time.Second), c, o.trusted); err != nil {
		return false
	}
	v, err := signature.LoadVerifier(c.PublicKey, crypto.SHA256)
	if err != nil {
		return false
	}
	return v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)) == nil
}

// owns: an attestation whose certificate names this signer's identity
// and issuer is replaced by this signer's newer one; other identities'
// attestations stay.
func (k *Keyless) owns(_ []byte, certPEM []byte) bool {
	if k.want.SAN == "" || certPEM == nil {
		return false
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return false
	}
	c, err := x509.ParseCertificate(block.Bytes)
	return err == nil && certIdentity(c) == k.want
}

// certIdentity reads a Fulcio certificate's identity: its email or URI
// subject alternative name and its OIDC issuer extension.
func certIdentity(c *x509.Certificate) Identity {
	ce := cosign.CertExtensions{Cert: c}
	id := Identity{Issuer: ce.GetIssuer()}
	switch {
	case len(c.EmailAddresses) > 0:
		id.SAN = c.EmailAddresses[0]
	case len(c.URIs) > 0:
		id.SAN = c.URIs[0].String()
	}
	return id
}

// tokenIdentity is the identity Fulcio certifies for an OIDC token, read
// from its claims without verifying them: GitHub Actions workflows are
// certified as https://github.com/ + job_workflow_ref, GitLab CI jobs as
// https:// + ci_config_ref_uri, people by their email, others by subject.
func tokenIdentity(token string) Identity {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Identity{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Identity{}
	}
	var claims struct {
		Iss            string `json:"iss"`
		Email          string `json:"email"`
		Sub            string `json:"sub"`
		JobWorkflowRef string `json:"job_workflow_ref"`
		CIConfigRefURI string `json:"ci_config_ref_uri"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return Identity{}
	}
	id := Identity{Issuer: claims.Iss}
	switch {
	case claims.Iss == GitHubActionsIssuer && claims.JobWorkflowRef != "":
		id.SAN = "https://github.com/" + claims.JobWorkflowRef
	case claims.CIConfigRefURI != "":
		id.SAN = "https://" + claims.CIConfigRefURI
	case claims.Email != "":
		id.SAN = claims.Email
	default:
		id.SAN = claims.Sub
	}
	return id
}

// GitHubActionsIssuer is the OIDC issuer of GitHub Actions tokens.
const GitHubActionsIssuer = "https://token.actions.githubusercontent.com"

// IDToken finds an OIDC token for keyless signing: SIGSTORE_ID_TOKEN (set
// by hand, or by a GitLab CI job's id_tokens), or the GitHub Actions token
// service (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, with the job's
// id-token: write permission), asked for audience "sigstore".
func IDToken(ctx context.Context, getenv func(string) string, client *http.Client) (string, error) {
	if t := getenv("SIGSTORE_ID_TOKEN"); t != "" {
		return t, nil
	}
	reqURL, reqToken := getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || reqToken == "" {
		return "", errors.New("no OIDC token: set SIGSTORE_ID_TOKEN, give the GitHub Actions job 'permissions: id-token: write', or declare id_tokens: SIGSTORE_ID_TOKEN (aud: sigstore) in the GitLab job")
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", "sigstore")
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("asking GitHub Actions for an OIDC token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("asking GitHub Actions for an OIDC token: HTTP %d", resp.StatusCode)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return "", errors.New("GitHub Actions returned no OIDC token")
	}
	return out.Value, nil
}

// NewKeylessWith signs with a certificate provider, a transparency log and
// a key pair source of the caller's choosing: a private Fulcio behind its
// own authentication, a private Rekor, or an in-process test authority.
func NewKeylessWith(token string, certs sgsign.CertificateProvider, tlog sgsign.Transparency, keypair func() (sgsign.Keypair, error)) *Keyless {
	if keypair == nil {
		keypair = func() (sgsign.Keypair, error) { return sgsign.NewEphemeralKeypair(nil) }
	}
	return &Keyless{token: token, certs: certs, tlog: tlog, keypair: keypair, want: tokenIdentity(token)}
}
