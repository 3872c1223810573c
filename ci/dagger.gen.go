// This file stands in for the dagger.gen.go that `dagger develop`
// generates (see internal/dagger/dagger.gen.go): there, dag is the client
// of the engine the module runs on, and main dispatches function calls.
// Here, dag only gives ci/main.go something to type-check against, and
// main says how the module is meant to run.

package main

import (
	"fmt"
	"os"

	"dagger/sealyard/internal/dagger"
)

var dag *dagger.Client

func main() {
	fmt.Fprintln(os.Stderr, "this is the sealyard Dagger module: run it with dagger call (for example: dagger call ship --source . --ref REGISTRY/REPO:TAG --key env:COSIGN_KEY)")
	os.Exit(2)
}
