// Package sign signs and attests images with cosign's libraries, in the
// formats the stock cosign CLI verifies.
//
// Keys are cosign key pairs: an encrypted cosign.key (from a file, from
// env://NAME, from a KMS URI such as hashivault://, awskms://, gcpkms://,
// azurekms://, or from k8s://namespace/secret). Keyless signing gets a
// short-lived certificate from Fulcio for an OIDC identity and logs to
// Rekor. Key-based signatures are logged to Rekor too unless the caller
// says WithoutTlogUnsafe.
//
// Signatures and attestations bind to a digest, never a tag. They are
// stored where cosign v2 looks (the sha256-<digest>.sig and .att tags) and,
// when the registry serves the OCI 1.1 referrers API, as referrers too.
// Signing twice does not duplicate: a signature the same key already made
// over the same payload is kept, and an attestation replaces the earlier
// one of its predicate type.
package sign
