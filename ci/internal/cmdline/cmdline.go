// Package cmdline turns the Dagger module's arguments into sealyard
// command lines: the exact argv, environment and mounts each function
// hands to the container it runs sealyard in. It is plain Go (no Dagger
// types), so the module's tests, and a parity test that runs these command
// lines with the sealyard binary outside any engine, use the same code
// the module does.
package cmdline

import (
	"bufio"
	"fmt"
	"sort"
	"strings"
)

// Paths inside the container the module runs sealyard in.
const (
	// Work is the working directory.
	Work = "/work"
	// Source is where a source directory is mounted.
	Source = "/work/src"
	// Image is where an input container is mounted, as an OCI archive.
	Image = "/work/image.tar"
	// Out is where reports and outputs are written.
	Out = "/work/out"
	// DB is where a given vulnerability database is mounted.
	DB = "/work/db"
	// DBCache is the cache volume that keeps the database between calls
	// when none is given.
	DBCache = "/var/cache/sealyard/db"
	// Policies, Exceptions, VEX, PublicKey and TrustedRoot are where those
	// inputs are mounted.
	Policies   = "/work/policies"
	Exceptions = "/work/exceptions.yaml"
	VEX        = "/work/vex.json"
	// SecretsAllow is where the allow-list for credentials is mounted.
	SecretsAllow = "/work/secrets-allow.yaml"
	PublicKey    = "/work/cosign.pub"
	TrustedRoot  = "/work/trusted_root.json"
	// Key is where the signing key secret is mounted (a file in tmpfs,
	// never an argument or a variable).
	Key = "/run/secrets/cosign.key"
)

// Environment variables set from secrets: the key's password and the
// registry password. Their values never appear in an argv.
const (
	PasswordEnv         = "COSIGN_PASSWORD"
	RegistryPasswordEnv = "SEALYARD_REGISTRY_PASSWORD"
)

// Exec is one sealyard invocation.
type Exec struct {
	// Args is the argv, starting with "sealyard".
	Args []string `json:"args"`
	// Env is the plain environment (CI identity, SOURCE_DATE_EPOCH).
	Env map[string]string `json:"env,omitempty"`
	// SecretEnv names the variables set from secrets.
	SecretEnv []string `json:"secretEnv,omitempty"`
	// Mounts lists the inputs mounted, by path.
	Mounts []string `json:"mounts,omitempty"`
}

// Inputs are the optional files and directories a function may mount;
// each set one adds its flag.
type Inputs struct {
	Policies, Exceptions, VEX bool
	// SecretsAllow is true when an allow-list for the credentials found in
	// the image's layers is given.
	SecretsAllow bool
	// DB is true when a database directory is given; otherwise the cache
	// volume is used and updated first.
	DB bool
	// DBMaxAge is --db-max-age (empty: sealyard's default).
	DBMaxAge string
}

func (in Inputs) gateArgs() []string {
	var a []string
	if in.Policies {
		a = append(a, "--policy", Policies)
	}
	if in.Exceptions {
		a = append(a, "--exceptions", Exceptions)
	}
	if in.VEX {
		a = append(a, "--vex", VEX)
	}
	if in.SecretsAllow {
		a = append(a, "--secrets-allow", SecretsAllow)
	}
	return a
}

func (in Inputs) dbArgs() []string {
	dir := DBCache
	if in.DB {
		dir = DB
	}
	a := []string{"--db", dir}
	if in.DBMaxAge != "" {
		a = append(a, "--db-max-age", in.DBMaxAge)
	}
	return a
}

func (in Inputs) mounts() []string {
	var m []string
	for _, x := range []struct {
		on   bool
		path string
	}{{in.Policies, Policies}, {in.Exceptions, Exceptions}, {in.VEX, VEX}, {in.SecretsAllow, SecretsAllow}, {in.DB, DB}} {
		if x.on {
			m = append(m, x.path)
		}
	}
	return m
}

// DBUpdate is the command that fills the cache volume when no database is
// given (nil when one is).
func (in Inputs) DBUpdate() *Exec {
	if in.DB {
		return nil
	}
	return &Exec{Args: []string{"sealyard", "db", "update", "--db", DBCache}}
}

// Registry is how a function reaches a registry: a username, and whether
// a password secret is set (as RegistryPasswordEnv).
type Registry struct {
	User        string
	HasPassword bool
}

func (r Registry) apply(e *Exec) {
	if r.User != "" {
		e.Args = append(e.Args, "--username", r.User)
	}
	if r.HasPassword {
		e.SecretEnv = append(e.SecretEnv, RegistryPasswordEnv)
	}
}

// Signing is how a function signs: the key secret (mounted at Key), its
// password secret, and whether the transparency log is skipped.
type Signing struct {
	HasPassword    bool
	SkipTlogUnsafe bool
}

func (s Signing) apply(e *Exec) {
	e.Args = append(e.Args, "--key", Key)
	e.Mounts = append(e.Mounts, Key)
	if s.HasPassword {
		e.SecretEnv = append(e.SecretEnv, PasswordEnv)
	}
	if s.SkipTlogUnsafe {
		e.Args = append(e.Args, "--skip-tlog-unsafe")
	}
}

// BuildGo builds the Go main package pkg (relative to the source) into an
// OCI archive at Out/image.tar.
func BuildGo(pkg, platform string, ci CI) (Exec, error) {
	p, err := relPath(pkg)
	if err != nil {
		return Exec{}, err
	}
	e := Exec{Args: []string{"sealyard", "build", Source + "/" + p, "-o", "oci-archive:" + Out + "/image.tar"}, Env: ci.Env(), Mounts: []string{Source}}
	if platform != "" {
		e.Args = append(e.Args, "--platform", platform)
	}
	return e, nil
}

// SBOM writes the SBOM of the mounted image in format to Out/sbom.
func SBOM(format string) (Exec, error) {
	switch format {
	case "cyclonedx-json", "cyclonedx-xml", "spdx-json", "syft-json":
	default:
		return Exec{}, fmt.Errorf("format %q: want cyclonedx-json, cyclonedx-xml, spdx-json or syft-json", format)
	}
	return Exec{Args: []string{"sealyard", "sbom", "oci-archive:" + Image, "-o", format + "=" + Out + "/sbom"}, Mounts: []string{Image}}, nil
}

// Scan writes the findings of the mounted image to Out/findings.json.
func Scan(in Inputs, failOn string) Exec {
	e := Exec{Args: append([]string{"sealyard", "scan", "oci-archive:" + Image, "-o", "json=" + Out + "/findings.json"}, in.dbArgs()...), Mounts: append([]string{Image}, in.mounts()...)}
	if failOn != "" {
		e.Args = append(e.Args, "--fail-on", failOn)
	}
	return e
}

// Gate writes the decision about the mounted image to Out/decision.json
// (and the table to stdout). mode is enforce or audit.
func Gate(in Inputs, mode string, ci CI) (Exec, error) {
	if err := checkMode(mode); err != nil {
		return Exec{}, err
	}
	args := []string{"sealyard", "gate", "oci-archive:" + Image, "-o", "table", "-o", "json=" + Out + "/decision.json", "--gate-mode", mode}
	args = append(append(args, in.gateArgs()...), in.dbArgs()...)
	return Exec{Args: args, Env: ci.Env(), Mounts: append([]string{Image}, in.mounts()...)}, nil
}

// Publish pushes the mounted image to ref by digest, then moves its tag.
func Publish(ref string, reg Registry) (Exec, error) {
	if err := checkRef(ref); err != nil {
		return Exec{}, err
	}
	e := Exec{Args: []string{"sealyard", "push", "oci-archive:" + Image, ref}, Mounts: []string{Image}}
	reg.apply(&e)
	return e, nil
}

// Sign signs the digest reference ref.
func Sign(ref string, s Signing, reg Registry) (Exec, error) {
	if err := checkRef(ref); err != nil {
		return Exec{}, err
	}
	e := Exec{Args: []string{"sealyard", "sign", ref}}
	s.apply(&e)
	reg.apply(&e)
	return e, nil
}

// Verify verifies ref against the mounted public key and writes what
// verified to Out/verify.json.
type Verify struct {
	Ref            string
	Require        []string
	TrustedRoot    bool
	SkipTlogUnsafe bool
	Gate           bool
}

// Exec is the verify command line.
func (v Verify) Exec(reg Registry) (Exec, error) {
	if err := checkRef(v.Ref); err != nil {
		return Exec{}, err
	}
	e := Exec{Args: []string{"sealyard", "verify", v.Ref, "--key", PublicKey, "-o", "table", "-o", "json=" + Out + "/verify.json"}, Mounts: []string{PublicKey}}
	if len(v.Require) > 0 {
		e.Args = append(e.Args, "--require", strings.Join(v.Require, ","))
	}
	if v.Gate {
		e.Args = append(e.Args, "--gate")
	}
	if v.TrustedRoot {
		e.Args = append(e.Args, "--trusted-root", TrustedRoot)
		e.Mounts = append(e.Mounts, TrustedRoot)
	}
	if v.SkipTlogUnsafe {
		e.Args = append(e.Args, "--skip-tlog-unsafe")
	}
	reg.apply(&e)
	return e, nil
}

// Ship is sealyard run on the mounted source: build the Go main package
// Pkg (or take Image when FromImage), SBOM, scan, gate, push, sign,
// attest, tag; reports in Out.
type Ship struct {
	Ref       string
	Pkg       string
	FromImage bool
	Platforms []string
	GateMode  string
	Inputs    Inputs
	Signing   Signing
	Registry  Registry
	CI        CI
}

// Exec is the run command line.
func (s Ship) Exec() (Exec, error) {
	if err := checkRef(s.Ref); err != nil {
		return Exec{}, err
	}
	if err := checkMode(s.GateMode); err != nil {
		return Exec{}, err
	}
	src := "oci-archive:" + Image
	mounts := []string{Image}
	if !s.FromImage {
		p, err := relPath(s.Pkg)
		if err != nil {
			return Exec{}, err
		}
		src, mounts = Source+"/"+p, []string{Source}
	}
	e := Exec{
		Args:   []string{"sealyard", "run", src, "--to", s.Ref, "--out", Out, "--progress", "plain", "--gate-mode", s.GateMode},
		Env:    s.CI.Env(),
		Mounts: append(mounts, s.Inputs.mounts()...),
	}
	if len(s.Platforms) > 0 {
		e.Args = append(e.Args, "--platform", strings.Join(s.Platforms, ","))
	}
	e.Args = append(append(e.Args, s.Inputs.gateArgs()...), s.Inputs.dbArgs()...)
	s.Signing.apply(&e)
	s.Registry.apply(&e)
	return e, nil
}

func checkMode(m string) error {
	if m != "enforce" && m != "audit" {
		return fmt.Errorf("gate mode %q: want enforce or audit", m)
	}
	return nil
}

func checkRef(ref string) error {
	if ref == "" || strings.HasPrefix(ref, "-") || strings.ContainsAny(ref, " \t\n") {
		return fmt.Errorf("reference %q: want REGISTRY/REPOSITORY[:TAG|@DIGEST]", ref)
	}
	return nil
}

// relPath cleans a package path relative to the source and refuses one
// that leaves it.
func relPath(p string) (string, error) {
	if p == "" {
		p = "."
	}
	clean := strings.TrimPrefix(p, "./")
	if strings.HasPrefix(p, "/") || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(clean, "/../") || strings.HasPrefix(clean, "-") {
		return "", fmt.Errorf("package %q: want a path inside the source, such as ./cmd/app", p)
	}
	if clean == "" {
		clean = "."
	}
	return clean, nil
}

// CI is the identity of the CI run a dagger call belongs to. The engine
// runs the module in a container that sees none of the host's CI
// variables, SOURCE_DATE_EPOCH or .git, so the caller passes them: named,
// or as a file of KEY=VALUE lines (env | grep ...), of which only the
// variables that describe the run are kept. Tokens are never forwarded.
type CI struct {
	// Vars are the variables kept from a CI environment file.
	Vars map[string]string
	// SourceDateEpoch is SOURCE_DATE_EPOCH (Unix seconds).
	SourceDateEpoch string
}

// ciVars are the variables sealyard reads to tell the CI system, the
// repository, commit, ref, workflow and run (pipelines/cienv).
var ciVars = map[string]bool{
	"GITHUB_ACTIONS": true, "GITHUB_SERVER_URL": true, "GITHUB_REPOSITORY": true, "GITHUB_SHA": true,
	"GITHUB_REF": true, "GITHUB_REF_NAME": true, "GITHUB_REF_TYPE": true, "GITHUB_WORKFLOW_REF": true,
	"GITHUB_RUN_ID": true, "GITHUB_RUN_ATTEMPT": true,
	"GITLAB_CI": true, "CI_PROJECT_URL": true, "CI_COMMIT_SHA": true, "CI_COMMIT_TAG": true,
	"CI_COMMIT_BRANCH": true, "CI_COMMIT_REF_NAME": true, "CI_JOB_URL": true, "CI_CONFIG_PATH": true,
	"CI_SERVER_URL": true, "CI_RUNNER_ID": true,
	"SOURCE_DATE_EPOCH": true,
}

// ParseCIEnv reads KEY=VALUE lines (blank lines and # comments skipped)
// and keeps the variables that describe the run.
func ParseCIEnv(text string) (CI, error) {
	ci := CI{Vars: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || k == "" {
			return CI{}, fmt.Errorf("CI environment line %d is not KEY=VALUE", n)
		}
		if ciVars[k] {
			ci.Vars[k] = strings.Trim(v, `"'`)
		}
	}
	if err := sc.Err(); err != nil {
		return CI{}, fmt.Errorf("reading the CI environment: %w", err)
	}
	return ci, nil
}

// Env is the environment the CI identity gives a command.
func (ci CI) Env() map[string]string {
	if len(ci.Vars) == 0 && ci.SourceDateEpoch == "" {
		return nil
	}
	env := map[string]string{}
	for k, v := range ci.Vars {
		env[k] = v
	}
	if ci.SourceDateEpoch != "" {
		env["SOURCE_DATE_EPOCH"] = ci.SourceDateEpoch
	}
	return env
}

// EnvList is env as sorted KEY=VALUE entries.
func EnvList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
