package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	rekor "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"
)

// Signer is what signs: a Key, or a Keyless identity.
type Signer interface {
	// String names the signer in messages (a key reference, an identity).
	String() string
	// signPayload signs a cosign simple-signing payload and returns the
	// base64 signature with the static options (certificate, log entry)
	// the stored signature needs.
	signPayload(ctx context.Context, payload []byte, o *options) (string, []static.Option, error)
	// signStatement signs an in-toto statement into a DSSE envelope.
	signStatement(ctx context.Context, stmt []byte, o *options) ([]byte, []static.Option, error)
	// recognizes reports whether an existing signature over payload was
	// made by this signer, so it is not made twice. It must be sure: a
	// wrong yes leaves the image unsigned.
	recognizes(sig []byte, payload []byte, cert []byte, o *options) bool
	// owns reports whether an existing attestation is this signer's, so
	// that a new one of its type replaces it; other signers' stay.
	owns(envelope []byte, cert []byte) bool
}

// String names the key by its reference and the fingerprint of its public
// key, so audit trails identify it after the file is gone.
func (k *Key) String() string { return fmt.Sprintf("key %s (%s)", k.ref, k.Fingerprint()) }

// Fingerprint is the sha256 of the public key (DER, SubjectPublicKeyInfo).
func (k *Key) Fingerprint() string {
	b, _ := pem.Decode(k.pubPEM)
	if b == nil {
		return "unknown"
	}
	sum := sha256.Sum256(b.Bytes)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (k *Key) signPayload(ctx context.Context, pl []byte, o *options) (string, []static.Option, error) {
	raw, err := k.sv.SignMessage(bytes.NewReader(pl), sigopts.WithContext(ctx))
	if err != nil {
		return "", nil, fmt.Errorf("signing with %s: %w", k.ref, err)
	}
	var sopts []static.Option
	if !o.skipTlog {
		rc, err := rekor.GetRekorClient(o.rekorURL)
		if err != nil {
			return "", nil, err
		}
		h := sha256.New()
		h.Write(pl)
		entry, err := cosign.TLogUpload(ctx, rc, raw, h, k.pubPEM)
		if err != nil {
			return "", nil, fmt.Errorf("logging the signature to %s: %w", o.rekorURL, err)
		}
		sopts = append(sopts, static.WithBundle(cbundle.EntryToBundle(entry)))
	}
	return base64.StdEncoding.EncodeToString(raw), sopts, nil
}

func (k *Key) signStatement(ctx context.Context, stmt []byte, o *options) ([]byte, []static.Option, error) {
	envelope, err := dsse.WrapSigner(k.sv, ctypes.IntotoPayloadType).SignMessage(bytes.NewReader(stmt), sigopts.WithContext(ctx))
	if err != nil {
		return nil, nil, fmt.Errorf("signing with %s: %w", k.ref, err)
	}
	var sopts []static.Option
	if !o.skipTlog {
		rc, err := rekor.GetRekorClient(o.rekorURL)
		if err != nil {
			return nil, nil, err
		}
		entry, err := cosign.TLogUploadDSSEEnvelope(ctx, rc, envelope, k.pubPEM)
		if err != nil {
			return nil, nil, fmt.Errorf("logging the attestation to %s: %w", o.rekorURL, err)
		}
		sopts = append(sopts, static.WithBundle(cbundle.EntryToBundle(entry)))
	}
	return envelope, sopts, nil
}

func (k *Key) recognizes(sig, payload, _ []byte, _ *options) bool {
	return verifies(k.sv, sig, payload)
}

// owns: the envelope's signature verifies with this key.
func (k *Key) owns(envelope, _ []byte) bool {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			Sig string `json:"sig"`
		} `json:"signatures"`
	}
	if json.Unmarshal(envelope, &env) != nil {
		return false
	}
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return false
	}
	pae := fmt.Sprintf("DSSEv1 %d %s %d %s", len(env.PayloadType), env.PayloadType, len(body), body)
	for _, sg := range env.Signatures {
		raw, err := base64.StdEncoding.DecodeString(sg.Sig)
		if err == nil && verifies(k.sv, raw, []byte(pae)) {
			return true
		}
	}
	return false
}

func verifies(v signature.Verifier, sig, payload []byte) bool {
	return v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(payload)) == nil
}
