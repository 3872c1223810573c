// Package verify checks an image before deploy, trusting nothing it is
// told: it resolves the reference to a digest, checks that a signature on
// that digest verifies with the accepted key or keyless identity, and
// that the required attestations (SBOM, vulnerabilities, provenance, gate
// decision) exist, are signed by the same, and are about that digest.
//
// When verification fails the error says what was expected and what was
// found (key, identity, issuer, predicate type, digest), so the reason is
// clear without reading cosign's source.
package verify
