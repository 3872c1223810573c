package cmdline

import (
	"reflect"
	"strings"
	"testing"
)

func TestShip(t *testing.T) {
	ci, err := ParseCIEnv("GITHUB_ACTIONS=true\nGITHUB_REPOSITORY=acme/app\nGITHUB_SHA=0123\nGITHUB_TOKEN=ghs_secret\nACTIONS_ID_TOKEN_REQUEST_TOKEN=oidc\n# comment\n\nexport GITHUB_REF=\"refs/heads/main\"\n")
	if err != nil {
		t.Fatal(err)
	}
	ci.SourceDateEpoch = "1700000000"
	e, err := Ship{
		Ref: "ghcr.io/acme/app:v1", Pkg: "./cmd/app", Platforms: []string{"linux/amd64", "linux/arm64"}, GateMode: "audit",
		Inputs:   Inputs{Exceptions: true, SecretsAllow: true, DB: true, DBMaxAge: "0"},
		Signing:  Signing{HasPassword: true},
		Registry: Registry{User: "bot", HasPassword: true},
		CI:       ci,
	}.Exec()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sealyard", "run", "/work/src/cmd/app", "--to", "ghcr.io/acme/app:v1", "--out", "/work/out", "--progress", "plain", "--gate-mode", "audit",
		"--platform", "linux/amd64,linux/arm64", "--exceptions", "/work/exceptions.yaml", "--secrets-allow", "/work/secrets-allow.yaml", "--db", "/work/db", "--db-max-age", "0",
		"--key", "/run/secrets/cosign.key", "--username", "bot"}
	if !reflect.DeepEqual(e.Args, want) {
		t.Fatalf("args\n%q\nwant\n%q", e.Args, want)
	}
	if !reflect.DeepEqual(e.SecretEnv, []string{PasswordEnv, RegistryPasswordEnv}) {
		t.Fatalf("secret env %v", e.SecretEnv)
	}
	wantEnv := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/app", "GITHUB_SHA": "0123", "GITHUB_REF": "refs/heads/main", "SOURCE_DATE_EPOCH": "1700000000"}
	if !reflect.DeepEqual(e.Env, wantEnv) {
		t.Fatalf("env %v, want %v (tokens are never forwarded)", e.Env, wantEnv)
	}
	if !reflect.DeepEqual(e.Mounts, []string{Source, Exceptions, SecretsAllow, DB, Key}) {
		t.Fatalf("mounts %v", e.Mounts)
	}
}

// Nothing secret is ever in an argv: the key is a mounted file, the
// passwords secret variables.
func TestSecretsNeverInArgs(t *testing.T) {
	for _, e := range []Exec{
		must(Ship{Ref: "r.example/a:v1", GateMode: "enforce", Signing: Signing{HasPassword: true}, Registry: Registry{User: "u", HasPassword: true}}.Exec()),
		must(Sign("r.example/a@sha256:"+strings.Repeat("0", 64), Signing{HasPassword: true}, Registry{HasPassword: true})),
		must(Publish("r.example/a:v1", Registry{User: "u", HasPassword: true})),
		must(Verify{Ref: "r.example/a:v1"}.Exec(Registry{HasPassword: true})),
	} {
		joined := strings.Join(e.Args, " ")
		for _, bad := range []string{"password", "PASSWORD", "--password-stdin", "env://"} {
			if strings.Contains(joined, bad) {
				t.Errorf("%q holds %q", e.Args, bad)
			}
		}
		if len(e.SecretEnv) == 0 {
			t.Errorf("%q sets no secret variable", e.Args)
		}
	}
}

func TestBadArguments(t *testing.T) {
	for name, err := range map[string]error{
		"package outside the source": err2(Ship{Ref: "r/a:v1", Pkg: "../other", GateMode: "enforce"}.Exec()),
		"absolute package":           err2(BuildGo("/etc", "", CI{})),
		"flag as package":            err2(BuildGo("-toolexec=x", "", CI{})),
		"flag as reference":          err2(Publish("--insecure", Registry{})),
		"empty reference":            err2(Sign("", Signing{}, Registry{})),
		"unknown gate mode":          err2(Gate(Inputs{}, "lenient", CI{})),
		"unknown SBOM format":        err2(SBOM("xml")),
		"CI line without =":          err3(ParseCIEnv("GITHUB_ACTIONS\n")),
	} {
		if err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
}

func TestDatabase(t *testing.T) {
	if u := (Inputs{}).DBUpdate(); u == nil || strings.Join(u.Args, " ") != "sealyard db update --db "+DBCache {
		t.Fatalf("without a database the cache is updated first: %+v", u)
	}
	if u := (Inputs{DB: true}).DBUpdate(); u != nil {
		t.Fatalf("a given database is not updated: %+v", u)
	}
	g, _ := Gate(Inputs{Policies: true, VEX: true}, "enforce", CI{})
	if !strings.Contains(strings.Join(g.Args, " "), "--policy /work/policies --vex /work/vex.json --db "+DBCache) {
		t.Fatalf("gate args %q", g.Args)
	}
}

func must(e Exec, err error) Exec {
	if err != nil {
		panic(err)
	}
	return e
}

func err2(_ Exec, err error) error { return err }

func err3(_ CI, err error) error { return err }
