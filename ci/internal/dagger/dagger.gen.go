// Package dagger stands in for the bindings `dagger develop` generates
// here (internal/dagger/dagger.gen.go): the Dagger API of the engine the
// module runs on. The generated package declares the same core types, with
// the same methods and options, as the published Go SDK, dagger.io/dagger,
// at the engine version dagger.json pins (v0.21.6). This stand-in makes
// those names aliases of the SDK's, so `make test` type-checks ci/main.go's
// calls against dagger.io/dagger v0.21.6 on a machine without an engine.
// `dagger develop` (and every `dagger call`) replaces this file with the
// real bindings.
package dagger

import sdk "dagger.io/dagger"

// The core types the module's functions take and return.
type (
	Client      = sdk.Client
	Container   = sdk.Container
	Directory   = sdk.Directory
	File        = sdk.File
	Secret      = sdk.Secret
	CacheVolume = sdk.CacheVolume
	Platform    = sdk.Platform
	BuildArg    = sdk.BuildArg

	ID          = sdk.ID
	ContainerID = sdk.ContainerID
	DirectoryID = sdk.DirectoryID
	FileID      = sdk.FileID
	SecretID    = sdk.SecretID

	DirectoryDockerBuildOpts = sdk.DirectoryDockerBuildOpts
)
