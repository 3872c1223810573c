package daggerbuild

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"dagger.io/dagger"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestReachable(t *testing.T) {
	noCLI := func(string) (string, error) { return "", exec.ErrNotFound }
	withCLI := func(string) (string, error) { return "/usr/local/bin/dagger", nil }
	for _, tc := range []struct {
		env  map[string]string
		look func(string) (string, error)
		want string
		ok   bool
	}{
		{map[string]string{"DAGGER_SESSION_PORT": "1234", "DAGGER_SESSION_TOKEN": "t"}, noCLI, "DAGGER_SESSION_PORT", true},
		{map[string]string{"DAGGER_SESSION_PORT": "1234"}, noCLI, "", false}, // a port without its token is no session
		{map[string]string{"_EXPERIMENTAL_DAGGER_RUNNER_HOST": "tcp://engine:1234"}, noCLI, "_EXPERIMENTAL_DAGGER_RUNNER_HOST", true},
		{nil, withCLI, "/usr/local/bin/dagger", true},
		{nil, noCLI, "", false},
	} {
		how, ok := Reachable(func(k string) string { return tc.env[k] }, tc.look)
		if ok != tc.ok || !strings.Contains(how, tc.want) {
			t.Errorf("env %v: %q %v, want %q %v", tc.env, how, ok, tc.want, tc.ok)
		}
	}
}

func TestConnectWithoutEngine(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Connect(context.Background(), func(string) string { return "" }, nil)
	if !errors.Is(err, ErrNoEngine) || !strings.Contains(err.Error(), "_EXPERIMENTAL_DAGGER_RUNNER_HOST") {
		t.Fatalf("Connect without an engine: %v", err)
	}
}

func TestParseBuildArgs(t *testing.T) {
	got, err := ParseBuildArgs([]string{"GO_VERSION=1.26", "EMPTY=", "URL=https://x.example/?a=b"})
	if err != nil {
		t.Fatal(err)
	}
	want := []dagger.BuildArg{{Name: "GO_VERSION", Value: "1.26"}, {Name: "EMPTY", Value: ""}, {Name: "URL", Value: "https://x.example/?a=b"}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("arg %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"NOVALUE", "=value", "TWO WORDS=x"} {
		if _, err := ParseBuildArgs([]string{bad}); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPlatforms(t *testing.T) {
	got := Platforms([]v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm", Variant: "v7"}})
	if len(got) != 2 || got[0] != "linux/amd64" || got[1] != "linux/arm/v7" {
		t.Fatalf("%v", got)
	}
}
