// Package daggerbuild is the sealyard CLI's client of a Dagger engine:
// Dockerfile builds by the engine (sealyard build --engine dagger, and
// sealyard run on a Dockerfile directory), and moving images between the
// engine and sealyard's pipelines as OCI tarballs. Dockerfile builds are
// the one thing sealyard leaves to an engine; everything else runs in
// process.
//
// The Dagger module in ci/ does not use this package: it is a module of
// its own that runs the sealyard CLI in a container (see ci/main.go).
package daggerbuild
