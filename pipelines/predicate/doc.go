// Package predicate builds the in-toto v1 statements sealyard attests:
// SBOMs (CycloneDX, SPDX), vulnerability scans (cosign's vuln predicate),
// SLSA provenance v1 and the gate's decision as a SLSA verification summary.
// It depends on no signer or scanner; the sign package signs what it makes
// and the verify package reads it back.
package predicate
