package sign

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	csig "github.com/sigstore/cosign/v2/pkg/signature"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	// KMS providers cosign supports, registered for key references.
	_ "github.com/sigstore/sigstore/pkg/signature/kms/aws"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/azure"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/gcp"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"

	"github.com/sealyard/sealyard/internal/atomicfile"
)

// PasswordFunc returns the password of an encrypted key. It is asked for
// only when a key file is encrypted.
type PasswordFunc func() ([]byte, error)

// PasswordFromEnv reads COSIGN_PASSWORD through getenv, as cosign does.
func PasswordFromEnv(getenv func(string) string) PasswordFunc {
	return func() ([]byte, error) {
		return []byte(getenv("COSIGN_PASSWORD")), nil
	}
}

// GenerateKeyPair writes a cosign key pair: prefix.key (encrypted with the
// password, mode 0600) and prefix.pub. Existing files are not overwritten.
func GenerateKeyPair(prefix string, password []byte) (privPath, pubPath string, err error) {
	privPath, pubPath = prefix+".key", prefix+".pub"
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Stat(p); err == nil {
			return "", "", fmt.Errorf("%s already exists; refusing to overwrite a key", p)
		}
	}
	keys, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		return "", "", fmt.Errorf("generating key pair: %w", err)
	}
	if dir := filepath.Dir(privPath); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", "", err
		}
	}
	if err := atomicfile.WriteBytes(privPath, 0o600, keys.PrivateBytes); err != nil {
		return "", "", err
	}
	if err := atomicfile.WriteBytes(pubPath, 0o644, keys.PublicBytes); err != nil {
		return "", "", err
	}
	return privPath, pubPath, nil
}

// Key is a loaded signing key.
type Key struct {
	sv     signature.SignerVerifier
	ref    string
	pubPEM []byte
}

// ErrKey is wrapped by errors loading a key. Its messages name the key
// reference, never key material or passwords.
var ErrKey = errors.New("cannot load signing key")

// LoadKey loads a signing key from ref: a file path, env://NAME (the PEM in
// an environment variable), a KMS URI (hashivault://, awskms://, gcpkms://,
// azurekms://) or k8s://NAMESPACE/SECRET.
func LoadKey(ctx context.Context, ref string, password PasswordFunc) (*Key, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: no key given", ErrKey)
	}
	pf := func(bool) ([]byte, error) {
		if password == nil {
			return nil, nil
		}
		return password()
	}
	sv, err := csig.SignerVerifierFromKeyRef(ctx, ref, pf, nil)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %s", ErrKey, ref, redactKeyError(err))
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w %q: reading its public key: %w", ErrKey, ref, err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrKey, ref, err)
	}
	return &Key{sv: sv, ref: ref, pubPEM: pem}, nil
}

// KeyFromPEM loads a cosign private key (encrypted PEM) held in memory, as
// a secret store hands it over (a Dagger secret, a CI variable). name
// identifies the key in messages; the key bytes and the password never
// appear in errors.
func KeyFromPEM(name string, privPEM, password []byte) (*Key, error) {
	if len(privPEM) == 0 {
		return nil, fmt.Errorf("%w %s: empty", ErrKey, name)
	}
	sv, err := cosign.LoadPrivateKey(privPEM, password, nil)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %s", ErrKey, name, redactKeyError(err))
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w %s: reading its public key: %w", ErrKey, name, err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrKey, name, err)
	}
	return &Key{sv: sv, ref: name, pubPEM: pem}, nil
}

// redactKeyError keeps the reason of a key error without echoing input:
// the messages of the libraries below never carry key bytes, but a wrong
// password is reported plainly.
func redactKeyError(err error) string {
	msg := err.Error()
	if strings.Contains(msg, "decrypt") {
		return "the password does not decrypt it (set COSIGN_PASSWORD)"
	}
	return msg
}

// Ref is the key reference the key was loaded from.
func (k *Key) Ref() string { return k.ref }

// PublicKeyPEM is the key's public half.
func (k *Key) PublicKeyPEM() []byte { return k.pubPEM }

// Verifier checks signatures made by the key.
func (k *Key) Verifier() signature.Verifier { return k.sv }

// LoadVerifier loads a public key from ref (a file, env://NAME, a KMS URI,
// or k8s://NAMESPACE/SECRET) to verify with.
func LoadVerifier(ctx context.Context, ref string) (signature.Verifier, error) {
	v, err := csig.PublicKeyFromKeyRefWithHashAlgo(ctx, ref, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading public key %q: %w", ref, err)
	}
	return v, nil
}

// SignerVerifier exposes the key as a sigstore signer (for callers that
// sign other payload kinds).
func (k *Key) SignerVerifier() signature.SignerVerifier { return k.sv }
