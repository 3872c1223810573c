package main

import (
	sdk "dagger.io/dagger"

	"dagger/sealyard/internal/dagger"

	"github.com/sealyard/sealyard/pipelines/daggerbuild"
	"github.com/sealyard/sealyard/pipelines/run"
)

// Plain values (not engine objects) cross to the pipelines by conversion.

func daggerbuildArgs(args []string) ([]dagger.BuildArg, error) {
	parsed, err := daggerbuild.ParseBuildArgs(args)
	if err != nil {
		return nil, err
	}
	out := make([]dagger.BuildArg, len(parsed))
	for i, a := range parsed {
		out[i] = dagger.BuildArg{Name: a.Name, Value: a.Value}
	}
	return out, nil
}

func sdkPlatform(p dagger.Platform) sdk.Platform { return sdk.Platform(p) }

func shipInputs(pkg, dockerfile string, platforms []dagger.Platform, gate daggerbuild.GateInputs, so daggerbuild.SignOptions) daggerbuild.ShipInputs {
	in := daggerbuild.ShipInputs{Package: pkg, Dockerfile: dockerfile, Gate: gate, Sign: so}
	for _, p := range platforms {
		in.Platforms = append(in.Platforms, sdkPlatform(p))
	}
	return in
}

func shipError(res *run.Result) error { return daggerbuild.ShipError(res) }
