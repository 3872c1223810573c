// Package fix applies the fixes sealyard finds to a Go module: each module
// upgrade as go get module@version, standard-library fixes as the go.mod
// toolchain line (the lowest fixed Go release the module proxy serves),
// then go mod tidy; and gates the image built from the module before and
// after. It touches go.mod and go.sum only, and nothing outside the module.
package fix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/mod/modfile"

	"github.com/sealyard/sealyard/pipelines/assess"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// ErrDirty is returned for a module with uncommitted changes (without
// AllowDirty): the fix would mix with them.
var ErrDirty = errors.New("the git tree has uncommitted changes")

// Config says what to fix and how to judge it.
type Config struct {
	// Dir is the module's root (it holds go.mod) and a main package.
	Dir    string
	DB     *vulndb.DB
	Policy *policy.Engine
	// GateOptions are passed to the gate (exceptions, VEX, mode).
	GateOptions []policy.GateOption
	// DryRun applies the fixes to a copy and reports the diff only.
	DryRun bool
	// AllowDirty fixes a module whose git tree has uncommitted changes.
	AllowDirty bool
	// Info describes where sealyard runs.
	Info cienv.Info
	// Log receives progress lines (nil: none).
	Log func(format string, args ...any)
}

// Result is the gate's decision before and after, what was applied, and
// the change to go.mod.
type Result struct {
	Before, After *facts.Decision
	Applied       []Applied
	// Skipped are the fixes not applied, with why.
	Skipped []string
	// Diff is a unified diff of go.mod.
	Diff string
}

// Applied is one fix made.
type Applied struct {
	facts.Remediation
	// Command is what was run.
	Command string
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// Fix gates the module's image, applies the grouped fixes it can make
// safely, and gates again. On failure in place, go.mod and go.sum are
// restored as they were.
func Fix(ctx context.Context, cfg Config) (*Result, error) {
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	gomod := filepath.Join(dir, "go.mod")
	before, err := os.ReadFile(gomod)
	if err != nil {
		return nil, fmt.Errorf("%s is not a Go module root: %w", cfg.Dir, err)
	}
	if !cfg.AllowDirty {
		if err := clean(ctx, dir); err != nil {
			return nil, err
		}
	}
	res := &Result{}
	cfg.logf("building and gating %s as it is", cfg.Dir)
	var rep *facts.Report
	if res.Before, rep, err = evaluate(ctx, &cfg, dir); err != nil {
		return nil, err
	}
	work := dir
	if cfg.DryRun {
		if work, err = copyModule(dir); err != nil {
			return nil, err
		}
		defer os.RemoveAll(filepath.Dir(work))
	} else {
		restore := backup(dir)
		defer func() {
			if err != nil {
				restore()
			}
		}()
	}
	if res.Applied, res.Skipped, err = apply(ctx, &cfg, work, facts.Remediations(rep.Findings)); err != nil {
		return nil, err
	}
	after, err := os.ReadFile(filepath.Join(work, "go.mod"))
	if err != nil {
		return nil, err
	}
	res.Diff = unifiedDiff(before, after)
	if len(res.Applied) == 0 {
		res.After = res.Before
		return res, nil
	}
	cfg.logf("building and gating %s with the fixes", cfg.Dir)
	if res.After, _, err = evaluate(ctx, &cfg, work); err != nil {
		return nil, err
	}
	return res, nil
}

// evaluate builds the module's main package for linux/amd64, catalogs,
// scans and gates it.
func evaluate(ctx context.Context, cfg *Config, dir string) (*facts.Decision, *facts.Report, error) {
	opts := []build.Option{build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "amd64"}), build.WithCreated(time.Unix(0, 0))}
	// The module's toolchain line is what a go command with
	// GOTOOLCHAIN=auto builds with; name it, so that a local
	// GOTOOLCHAIN=local (some Go distributions set it) does not hide it.
	if tc, err := toolchainOf(filepath.Join(dir, "go.mod")); err != nil {
		return nil, nil, err
	} else if tc != "" {
		opts = append(opts, build.WithGoEnv("GOTOOLCHAIN="+tc))
	}
	a, err := build.Build(ctx, []build.Source{build.GoPackage(dir, ".")}, opts...)
	if err != nil {
		return nil, nil, err
	}
	// A Go program on scratch: the question is which vulnerabilities the
	// upgrades clear, so no secrets scan.
	sc, err := assess.Image(ctx, "fix:"+filepath.Base(dir), a, cfg.DB, cfg.Info, nil)
	if err != nil {
		return nil, nil, err
	}
	d, _, err := cfg.Policy.Gate(ctx, sc.Input, append(cfg.GateOptions, policy.WithNow(time.Now()))...)
	if err != nil {
		return nil, nil, err
	}
	rep := &facts.Report{}
	for _, r := range sc.Reports {
		rep.Findings = append(rep.Findings, r.Findings...)
	}
	return d, rep, nil
}

// toolchainOf reads the toolchain line of a go.mod ("" when it has none).
func toolchainOf(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	f, err := modfile.Parse(gomod, b, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", gomod, err)
	}
	if f.Toolchain == nil {
		return "", nil
	}
	return f.Toolchain.Name, nil
}

// apply makes the Go fixes in dir: go get for modules, the toolchain line
// for the standard library, then go mod tidy.
func apply(ctx context.Context, cfg *Config, dir string, rs []facts.Remediation) ([]Applied, []string, error) {
	var applied []Applied
	var skipped []string
	for _, r := range rs {
		switch r.Kind {
		case facts.FixGoModule:
			v := r.Target
			if !strings.HasPrefix(v, "v") {
				v = "v" + v
			}
			args := []string{"get", r.Package.Name + "@" + v}
			if err := goCmd(ctx, dir, args...); err != nil {
				return nil, nil, err
			}
			applied = append(applied, Applied{Remediation: r, Command: "go " + strings.Join(args, " ")})
		case facts.FixGoToolchain:
			tc, err := lowestToolchain(ctx, dir, r.Target)
			if err != nil {
				skipped = append(skipped, fmt.Sprintf("Go %s: %v", r.Target, err))
				continue
			}
			args := []string{"mod", "edit", "-toolchain=" + tc}
			if err := goCmd(ctx, dir, args...); err != nil {
				return nil, nil, err
			}
			applied = append(applied, Applied{Remediation: r, Command: "go " + strings.Join(args, " ")})
		default:
			skipped = append(skipped, fmt.Sprintf("%s: %s (not a change to go.mod)", r.Package.Name, r.Action))
		}
	}
	if len(applied) > 0 {
		if err := goCmd(ctx, dir, "mod", "tidy"); err != nil {
			return nil, nil, err
		}
	}
	for _, a := range applied {
		cfg.logf("applied: %s (clears %d advisories)", a.Command, len(a.Advisories))
	}
	return applied, skipped, nil
}

// lowestToolchain is the lowest Go release at or above target that the
// module proxy serves (the toolchain is the module golang.org/toolchain;
// a proxy may list releases it does not serve).
func lowestToolchain(ctx context.Context, dir, target string) (string, error) {
	out, err := goOutput(ctx, dir, "list", "-m", "-versions", "golang.org/toolchain")
	if err != nil {
		return "", err
	}
	suffix := ".linux-amd64"
	want := strings.TrimPrefix(strings.TrimPrefix(target, "go"), "v")
	var candidates []string
	for _, v := range strings.Fields(out)[1:] {
		rel, ok := strings.CutPrefix(v, "v0.0.1-go")
		if !ok || !strings.HasSuffix(rel, suffix) {
			continue
		}
		rel = strings.TrimSuffix(rel, suffix)
		if strings.Contains(rel, "rc") || strings.Contains(rel, "beta") || facts.VersionLess(rel, want) {
			continue
		}
		candidates = append(candidates, rel)
	}
	sort.Slice(candidates, func(i, j int) bool { return facts.VersionLess(candidates[i], candidates[j]) })
	for _, c := range candidates {
		if len(c) > 0 && goCmd(ctx, dir, "mod", "download", "golang.org/toolchain@v0.0.1-go"+c+suffix) == nil {
			return "go" + c, nil
		}
	}
	return "", fmt.Errorf("no Go release at or above %s can be fetched from the module proxy", want)
}

func goCmd(ctx context.Context, dir string, args ...string) error {
	_, err := goOutput(ctx, dir, args...)
	return err
}

func goOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	// The module's own go command runs: GOFLAGS from the environment
	// (-modfile, -toolexec) must not redirect it.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// clean refuses a module with uncommitted changes in a git work tree.
func clean(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, "git", "status", "--porcelain", "--", ".")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil // not in a git work tree: nothing to mix with
	}
	if s := strings.TrimSpace(string(out)); s != "" {
		return fmt.Errorf("%w in %s (commit or stash them, or give --allow-dirty):\n%s", ErrDirty, dir, s)
	}
	return nil
}

// backup keeps go.mod and go.sum and returns what puts them back.
func backup(dir string) func() {
	saved := map[string][]byte{}
	for _, f := range []string{"go.mod", "go.sum"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			saved[f] = b
		}
	}
	return func() {
		for f, b := range saved {
			os.WriteFile(filepath.Join(dir, f), b, 0o644)
		}
	}
}

// copyModule copies the module's files (not .git) to a new directory.
func copyModule(dir string) (string, error) {
	tmp, err := os.MkdirTemp("", "sealyard-fix-*")
	if err != nil {
		return "", err
	}
	dst := filepath.Join(tmp, filepath.Base(dir))
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return dst, nil
}

// unifiedDiff is a line diff of a and b (an LCS, fine for go.mod sizes).
func unifiedDiff(a, b []byte) string {
	if bytes.Equal(a, b) {
		return ""
	}
	x, y := strings.Split(strings.TrimSuffix(string(a), "\n"), "\n"), strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	out.WriteString("--- go.mod\n+++ go.mod (fixed)\n")
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out.WriteString(" " + x[i] + "\n")
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("-" + x[i] + "\n")
			i++
		default:
			out.WriteString("+" + y[j] + "\n")
			j++
		}
	}
	return out.String()
}
