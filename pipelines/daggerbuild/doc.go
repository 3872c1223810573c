// Package daggerbuild is sealyard's bridge to a Dagger engine: Dockerfile
// builds by the engine, moving images between the engine and sealyard's
// pipelines (as OCI tarballs), and turning Dagger secrets into library
// options without the secret values ever reaching a log or an error.
//
// It takes dagger.io/dagger objects as arguments and holds the only
// Dagger-specific logic of the project: the sealyard CLI uses it when an
// engine is reachable (sealyard build --engine dagger, sealyard run on a
// Dockerfile directory), and the Dagger module in ci/ is a thin layer over
// it and the pipelines.
package daggerbuild
