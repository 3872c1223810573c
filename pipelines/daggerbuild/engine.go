package daggerbuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"

	"dagger.io/dagger"
)

// ErrNoEngine is returned when no Dagger engine can be reached.
var ErrNoEngine = errors.New("no Dagger engine is reachable")

// Reachable says whether a Dagger engine can be reached and how: from
// inside a Dagger session (DAGGER_SESSION_PORT, as in dagger run or a
// module), through an explicit runner (_EXPERIMENTAL_DAGGER_RUNNER_HOST),
// or by the dagger CLI on PATH, which starts one. getenv and lookPath are
// os.Getenv and exec.LookPath outside tests.
func Reachable(getenv func(string) string, lookPath func(string) (string, error)) (string, bool) {
	switch {
	case getenv("DAGGER_SESSION_PORT") != "" && getenv("DAGGER_SESSION_TOKEN") != "":
		return "the current Dagger session (DAGGER_SESSION_PORT)", true
	case getenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST") != "":
		return "the engine at _EXPERIMENTAL_DAGGER_RUNNER_HOST", true
	}
	if p, err := lookPath("dagger"); err == nil {
		return "the dagger CLI at " + p, true
	}
	return "", false
}

// Connect opens a client to the engine Reachable finds, or returns
// ErrNoEngine saying what was looked for. Engine logs go to logs.
func Connect(ctx context.Context, getenv func(string) string, logs io.Writer) (*dagger.Client, error) {
	how, ok := Reachable(getenv, exec.LookPath)
	if !ok {
		return nil, fmt.Errorf("%w: looked for DAGGER_SESSION_PORT (inside dagger run or dagger call), _EXPERIMENTAL_DAGGER_RUNNER_HOST, and a dagger CLI on PATH", ErrNoEngine)
	}
	c, err := dagger.Connect(ctx, dagger.WithLogOutput(logs))
	if err != nil {
		return nil, fmt.Errorf("%w: connecting to %s: %v", ErrNoEngine, how, err)
	}
	return c, nil
}
