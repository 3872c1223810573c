package sign

import (
	"context"
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
	"time"

	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// DefaultFulcioURL is the public Fulcio instance.
const DefaultFulcioURL = "https://fulcio.sigstore.dev"

// Keyless signs with a short-lived certificate Fulcio issues for an OIDC
// identity; every signature is logged to Rekor.
type Keyless struct {
	token    string
	certs    sgsign.CertificateProvider
	tlog     sgsign.Transparency
	keypair  func() (sgsign.Keypair, error)
	identity string
}

// NewKeyless signs with certificates from the Fulcio at fulcioURL for the
// OIDC token, and logs to the Rekor at rekorURL.
func NewKeyless(token, fulcioURL, rekorURL string) (*Keyless, error) {
	if token == "" {
		return nil, errors.New("keyless signing needs an OIDC identity token (SIGSTORE_ID_TOKEN, or the GitHub Actions or GitLab CI token environment)")
	}
	return &Keyless{
		token:    token,
		certs:    sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: fulcioURL, Retries: 2}),
		tlog:     sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: rekorURL, Retries: 2}),
		keypair:  func() (sgsign.Keypair, error) { return sgsign.NewEphemeralKeypair(nil) },
		identity: tokenSubject(token),
	}, nil
}

func (k *Keyless) String() string {
	if k.identity != "" {
		return "keyless identity " + k.identity
	}
	return "keyless identity"
}

func (k *Keyless) bundle(ctx context.Context, content sgsign.Content) (*protobundle.Bundle, error) {
	kp, err := k.keypair()
	if err != nil {
		return nil, err
	}
	b, err := sgsign.Bundle(content, kp, sgsign.BundleOptions{
		CertificateProvider:        k.certs,
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

// recognizes treats an existing signature over the same payload by a
// certificate for the same identity as this signer's: a keyless rerun
// must not pile up signatures.
func (k *Keyless) recognizes(_ []byte, _ []byte, certPEM []byte) bool {
	if k.identity == "" || certPEM == nil {
		return false
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return false
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return false
	}
	for _, e := range c.EmailAddresses {
		if e == k.identity {
			return true
		}
	}
	for _, u := range c.URIs {
		if u.String() == k.identity {
			return true
		}
	}
	return false
}

// tokenSubject reads the identity an OIDC token claims (email, or the
// subject), without verifying it: only used to recognise earlier
// signatures and to name the signer.
func tokenSubject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Email string `json:"email"`
		Sub   string `json:"sub"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return ""
	}
	if claims.Email != "" {
		return claims.Email
	}
	return claims.Sub
}

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
	return &Keyless{token: token, certs: certs, tlog: tlog, keypair: keypair, identity: tokenSubject(token)}
}
