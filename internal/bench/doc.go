// Package bench holds make bench: sealyard run against the chain of peer
// CLIs users build by hand (syft, grype, crane, cosign at the versions
// sealyard links), on the same reference image, database and registry.
// It has no code of its own, only a benchmark.
package bench
