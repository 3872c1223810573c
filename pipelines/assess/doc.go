// Package assess assembles the gate's one input document: from an image
// (cataloged and scanned here, every platform), from precomputed SBOM and
// findings files, or from per-platform results a caller already has. It
// is the only place that does so: sealyard run, sealyard gate, sealyard
// verify and the Dagger module call it, so they judge the same facts.
package assess
