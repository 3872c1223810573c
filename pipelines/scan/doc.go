// Package scan matches an SBOM against the vulnerability database with
// grype's matchers and reports findings users can act on.
//
// It scans the SBOM, never the image again. Go advisories are matched at
// module level (every advisory that affects a module version in a binary,
// as govulncheck reports at module level) and each Go finding carries
// whether the binary links a vulnerable symbol (reachable true/false), read
// from the symbols syft captured; reachability is null where it cannot be
// known (no symbol evidence, or an ecosystem without it). Severity is what
// the database says: the Go vulnerability database gives none, so such
// findings are "Unknown", never guessed.
package scan
