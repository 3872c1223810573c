// Package cienv tells where a pipeline runs (GitHub Actions, GitLab CI or a
// workstation) and what it builds (repository, commit, tag), from the CI
// environment and, failing that, from git.
//
// Build annotations, SLSA provenance and CI reports all read the same Info,
// so an image, its provenance and its report never disagree about the commit.
package cienv
