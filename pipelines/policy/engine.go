package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/pipelines/redact"
	"github.com/sealyard/sealyard/policies"
)

// ErrPolicy is wrapped by errors about policies or their data: a Rego
// syntax or type error (with file and line), a bad data file.
var ErrPolicy = errors.New("policy error")

// Engine is a compiled policy bundle with its settings.
type Engine struct {
	query    rego.PreparedEvalQuery
	digest   string
	secrets  *redact.Patterns
	files    []string
	packages [][]string // package paths, e.g. [sealyard vulnerabilities]
}

// Option configures New.
type Option func(*options) error

type options struct {
	dirs       []string
	dataFiles  []string
	data       []source
	noDefaults bool
}

// WithPolicyDir adds the .rego files under dir (tests, *_test.rego, are
// left out) to the default policies. Their packages must be under
// sealyard (package sealyard.NAME) and their rules are deny and warn sets.
func WithPolicyDir(dir string) Option {
	return func(o *options) error {
		o.dirs = append(o.dirs, dir)
		return nil
	}
}

// WithDataFile merges a YAML or JSON file over the default settings
// (policies/data.yaml), key by key.
func WithDataFile(path string) Option {
	return func(o *options) error {
		o.dataFiles = append(o.dataFiles, path)
		return nil
	}
}

// WithData merges YAML or JSON settings over the default settings and the
// data files, key by key. name says where they come from (a flag), in
// errors and in the policy digest.
func WithData(name string, data []byte) Option {
	return func(o *options) error {
		o.data = append(o.data, source{name: name, data: data})
		return nil
	}
}

// WithoutDefaultPolicies leaves sealyard's policies out (the default
// settings stay, for user policies that read them).
func WithoutDefaultPolicies() Option {
	return func(o *options) error {
		o.noDefaults = true
		return nil
	}
}

type source struct {
	name string
	data []byte
}

// New loads and compiles the policies.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	o := &options{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	var modules []source
	if !o.noDefaults {
		entries, err := fs.Glob(policies.FS, "*.rego")
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if strings.HasSuffix(e, "_test.rego") {
				continue
			}
			b, err := policies.FS.ReadFile(e)
			if err != nil {
				return nil, err
			}
			modules = append(modules, source{name: "policies/" + e, data: b})
		}
	}
	for _, dir := range o.dirs {
		user, err := readDir(dir)
		if err != nil {
			return nil, err
		}
		modules = append(modules, user...)
	}
	defaults, err := policies.FS.ReadFile("data.yaml")
	if err != nil {
		return nil, err
	}
	data := map[string]any{}
	dataSources := []source{{name: "policies/data.yaml", data: defaults}}
	for _, f := range o.dataFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%w: policy data %q: %w", ErrPolicy, f, err)
		}
		dataSources = append(dataSources, source{name: f, data: b})
	}
	dataSources = append(dataSources, o.data...)
	for _, s := range dataSources {
		var doc map[string]any
		if err := yaml.Unmarshal(s.data, &doc); err != nil {
			return nil, fmt.Errorf("%w: policy data %s: %w", ErrPolicy, s.name, err)
		}
		data = merge(data, doc)
	}
	compiled := map[string]*ast.Module{}
	var regoOpts []func(*rego.Rego)
	for _, m := range modules {
		mod, err := ast.ParseModuleWithOpts(m.name, string(m.data), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
		}
		if p := mod.Package.Path.String(); p != "data.sealyard" && !strings.HasPrefix(p, "data.sealyard.") {
			return nil, fmt.Errorf("%w: %s: package %s is not under sealyard (write package sealyard.NAME)", ErrPolicy, m.name, strings.TrimPrefix(p, "data."))
		}
		compiled[m.name] = mod
		regoOpts = append(regoOpts, rego.ParsedModule(mod))
	}
	regoOpts = append(regoOpts,
		rego.Query("data.sealyard"),
		rego.Store(inmem.NewFromObject(data)),
		rego.SetRegoVersion(ast.RegoV1),
		rego.StrictBuiltinErrors(true),
	)
	pq, err := rego.New(regoOpts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	secrets, err := redact.FromSettings(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	e := &Engine{query: pq, digest: bundleDigest(modules, dataSources), secrets: secrets}
	seen := map[string]bool{}
	for _, m := range modules {
		e.files = append(e.files, m.name)
		p := compiled[m.name].Package.Path.String()
		if !seen[p] {
			seen[p] = true
			e.packages = append(e.packages, strings.Split(strings.TrimPrefix(p, "data."), "."))
		}
	}
	sort.Slice(e.packages, func(i, j int) bool { return strings.Join(e.packages[i], ".") < strings.Join(e.packages[j], ".") })
	return e, nil
}

// Digest identifies the policy bundle: every module and data file, by name
// and content.
func (e *Engine) Digest() string { return e.digest }

// Files lists the policy modules in the bundle.
func (e *Engine) Files() []string { return e.files }

func readDir(dir string) ([]source, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: policy directory %q: %w", ErrPolicy, dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: policy directory %q is not a directory", ErrPolicy, dir)
	}
	var out []source
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") || strings.HasSuffix(p, "_test.rego") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, source{name: p, data: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPolicy, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: policy directory %q holds no .rego files", ErrPolicy, dir)
	}
	return out, nil
}

func bundleDigest(modules, data []source) string {
	all := append(append([]source{}, modules...), data...)
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	h := sha256.New()
	for _, s := range all {
		fmt.Fprintf(h, "%d:%s\n%d:", len(s.name), s.name, len(s.data))
		h.Write(s.data)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// merge overlays b on a, recursing into maps.
func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = merge(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// evaluate runs the policies over in and collects every deny and warn set
// in every package under sealyard.
func (e *Engine) evaluate(ctx context.Context, in any) (deny, warn []Violation, err error) {
	rs, err := e.query.Eval(ctx, rego.EvalInput(in))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: evaluating: %w", ErrPolicy, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil, nil
	}
	tree, _ := rs[0].Expressions[0].Value.(map[string]any)
	for _, path := range e.packages {
		node := map[string]any{"sealyard": tree}
		for _, part := range path {
			node, _ = node[part].(map[string]any)
		}
		pkg := strings.Join(path, ".")
		for _, kind := range []string{"deny", "warn"} {
			raw, ok := node[kind]
			if !ok {
				continue
			}
			items, ok := raw.([]any)
			if !ok {
				return nil, nil, fmt.Errorf("%w: %s.%s must be a set of violations", ErrPolicy, pkg, kind)
			}
			for _, it := range items {
				v, err := violationOf(pkg, it)
				if err != nil {
					return nil, nil, err
				}
				if kind == "deny" {
					deny = append(deny, v)
				} else {
					warn = append(warn, v)
				}
			}
		}
	}
	return deny, warn, nil
}

// violationOf reads a rule result: an object with rule, title, msg and
// optional finding/package, or a bare message (conftest style).
func violationOf(pkg string, it any) (Violation, error) {
	switch x := it.(type) {
	case string:
		return Violation{Rule: pkg, Message: x}, nil
	case map[string]any:
		v := Violation{Rule: str(x["rule"]), Title: str(x["title"]), Message: str(x["msg"])}
		if v.Rule == "" {
			v.Rule = pkg
		}
		if v.Message == "" {
			return Violation{}, fmt.Errorf("%w: a result of %s has no msg: %v", ErrPolicy, pkg, x)
		}
		if f, ok := x["finding"].(map[string]any); ok {
			v.Findings = []FindingRef{{ID: str(f["id"]), Package: str(f["package"]), Version: str(f["version"]), PURL: str(f["purl"])}}
		}
		if p, ok := x["package"].(map[string]any); ok {
			v.Packages = []PackageRef{{Name: str(p["name"]), Version: str(p["version"]), PURL: str(p["purl"])}}
		}
		return v, nil
	default:
		return Violation{}, fmt.Errorf("%w: %s produced %T, want an object or a string", ErrPolicy, pkg, it)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
