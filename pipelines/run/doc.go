// Package run is the orchestrator behind sealyard run: from a source (a Go
// package, a directory with a Dockerfile, or any image reference) to a
// signed, attested image in a registry.
//
// The stages form a DAG: the image is read and cataloged once per
// platform, platforms are cataloged and scanned concurrently, documents are
// encoded concurrently, attestations are signed concurrently. The gate
// decides before anything leaves the machine: a denied image is never
// pushed or signed. Tags move last: the image is pushed by digest, signed
// and attested, and only then tagged, so no tag ever points at an
// unsigned or ungated image, even if the run dies halfway.
//
// Every stage is reported as it starts and ends (Config.Events) and
// recorded in audit.jsonl with its inputs and outputs by digest.
package run
