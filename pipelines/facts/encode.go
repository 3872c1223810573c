package facts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Encode is the one form in which sealyard writes its JSON documents
// (decision.json, policy-input.json, findings.json): indented by two
// spaces, ending in a newline. Digests recorded about a document are of
// these exact bytes, so anyone can check them against the file.
func Encode(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Digest is the sha256 of b, as "sha256:HEX".
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
