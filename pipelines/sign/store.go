package sign

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"

	"github.com/sealyard/sealyard/pipelines/predicate"
)

// alreadySigned reports whether sigs hold a signature over payload that k
// made: signing again would only add a duplicate (ECDSA signatures differ
// every time, so byte equality is not enough).
func alreadySigned(sigs []oci.Signature, payload []byte, k Signer, o *options) bool {
	for _, s := range sigs {
		p, err := s.Payload()
		if err != nil || !bytes.Equal(p, payload) {
			continue
		}
		b64, err := s.Base64Signature()
		if err != nil {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		var certPEM []byte
		if c, err := s.Cert(); err == nil && c != nil {
			certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		if k.recognizes(raw, p, certPEM, o) {
			return true
		}
	}
	return false
}

// PlatformAnnotation marks the layer of an attestation about one
// platform of an index, so a newer one replaces only its own platform's.
// The signed statement carries the same name on its subject.
const PlatformAnnotation = predicate.PlatformAnnotation

// replaceByType keeps one attestation per predicate type, platform and
// signer: the new one replaces this signer's earlier one of its kind
// (cosign attest --replace, without its messages on stderr). Other
// signers' attestations of the same type stay.
type replaceByType struct {
	predicateType, platform string
	signer                  Signer
}

var _ mutate.ReplaceOp = replaceByType{}

func (r replaceByType) Replace(existing oci.Signatures, add oci.Signature) (oci.Signatures, error) {
	sigs, err := existing.Get()
	if err != nil {
		return nil, err
	}
	kept := []oci.Signature{add}
	for _, s := range sigs {
		pt, err := predicateTypeOf(s)
		if err != nil {
			return nil, err
		}
		ann, err := s.Annotations()
		if err != nil {
			return nil, fmt.Errorf("reading an existing attestation: %w", err)
		}
		if pt != r.predicateType || ann[PlatformAnnotation] != r.platform || !r.ownedBy(s) {
			kept = append(kept, s)
		}
	}
	return replaced{Signatures: existing, sigs: kept}, nil
}

func (r replaceByType) ownedBy(s oci.Signature) bool {
	env, err := s.Payload()
	if err != nil {
		return false
	}
	var certPEM []byte
	if c, err := s.Cert(); err == nil && c != nil {
		certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return r.signer.owns(env, certPEM)
}

type replaced struct {
	oci.Signatures
	sigs []oci.Signature
}

func (r replaced) Get() ([]oci.Signature, error) { return r.sigs, nil }

func predicateTypeOf(s oci.Signature) (string, error) {
	p, err := s.Payload()
	if err != nil {
		return "", err
	}
	var env struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(p, &env); err != nil {
		return "", fmt.Errorf("an existing attestation is not a DSSE envelope: %w", err)
	}
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return "", fmt.Errorf("an existing attestation's payload is not base64: %w", err)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return "", fmt.Errorf("an existing attestation's payload is not a statement: %w", err)
	}
	return st.PredicateType, nil
}
