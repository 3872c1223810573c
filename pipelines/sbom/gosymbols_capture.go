package sbom

import (
	"context"
	"debug/buildinfo"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/pkg/cataloger/golang"
	syftsbom "github.com/anchore/syft/syft/sbom"
)

// captureGoSymbols gives every Go package of s (the modules of each Go
// binary, and its standard library) the function symbols that syft's
// golang cataloger records with cataloging.SymbolScopeAll, as
// correctVendoredSymbols corrects them, when s was cataloged with symbol
// capture off. syft parses each binary's whole line table with debug/gosym
// and then matches every symbol against every module path; here one pass
// over the function-name table (which holds every name gosym would give,
// and the inlined ones) attributes each import path once, by its longest
// module prefix. The packages are then what syft would have made: the same
// symbols, sorted and without duplicates, under the IDs syft computes from
// them. Binaries whose function table this reader cannot find (UPX-packed,
// universal Mach-O) go through syft's own cataloger instead.
func captureGoSymbols(ctx context.Context, s *syftsbom.SBOM, res file.Resolver) error {
	bins := goBinaries(s)
	workers := min(runtime.GOMAXPROCS(0), len(bins))
	work := make(chan *goBinary)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				b.capture(res)
			}
		}()
	}
	for _, b := range bins {
		work <- b
	}
	close(work)
	wg.Wait()

	changed := map[artifact.ID]pkg.Package{}
	var rest []*goBinary
	for _, b := range bins {
		if !b.done {
			rest = append(rest, b)
			continue
		}
		for old, p := range b.pkgs {
			changed[old] = p
		}
	}
	if len(rest) > 0 {
		if err := syftGoSymbols(ctx, res, rest, changed); err != nil {
			return err
		}
	}
	replacePackages(s, changed)
	return nil
}

// goBinary is one Go binary's packages in s, by their IDs.
type goBinary struct {
	loc  file.Location
	pkgs map[artifact.ID]pkg.Package
	done bool // the packages carry their symbols
}

// goBinaries groups s's Go packages by the binary they were found in.
func goBinaries(s *syftsbom.SBOM) []*goBinary {
	byCoords := map[file.Coordinates]*goBinary{}
	var out []*goBinary
	for _, p := range s.Artifacts.Packages.Sorted() {
		if _, ok := p.Metadata.(pkg.GolangBinaryBuildinfoEntry); !ok {
			continue
		}
		locs := p.Locations.ToSlice()
		if len(locs) == 0 {
			continue
		}
		b := byCoords[locs[0].Coordinates]
		if b == nil {
			b = &goBinary{loc: locs[0], pkgs: map[artifact.ID]pkg.Package{}}
			byCoords[locs[0].Coordinates] = b
			out = append(out, b)
		}
		b.pkgs[p.ID()] = p
	}
	return out
}

// capture reads the binary's build info and function names and sets each
// package's symbols; done stays false when any step fails.
func (b *goBinary) capture(res file.Resolver) {
	ra, closer, err := openBinary(res, b.loc)
	if err != nil {
		return
	}
	defer closer.Close()
	bi, err := buildinfo.Read(ra)
	if err != nil {
		return
	}
	tab := pclntab(ra)
	if tab == nil {
		return
	}
	names := funcNameTable(tab)
	if names == nil {
		return
	}
	main, deps := buildModules(bi)
	byModule, stdlib := attributeSymbols(names, main, deps)
	out := make(map[artifact.ID]pkg.Package, len(b.pkgs))
	for id, p := range b.pkgs {
		m := p.Metadata.(pkg.GolangBinaryBuildinfoEntry)
		if p.Name == "stdlib" && m.MainModule == "" {
			m.Symbols = stdlib
		} else {
			path, ok := modulePathOf(p, m, main, deps)
			if !ok {
				return
			}
			m.Symbols = byModule[path]
		}
		p.Metadata = m
		out[id] = p
	}
	b.pkgs, b.done = out, true
}

// buildModules is the main module and the dependencies of a build as
// syft's golang cataloger takes them: a build without a main module (or
// one of "go build file.go") takes its one "(devel)" dependency as main,
// or else its package path.
func buildModules(bi *buildinfo.BuildInfo) (debug.Module, []*debug.Module) {
	main, deps := bi.Main, bi.Deps
	if (main == (debug.Module{}) && bi.Path != "") || main == (debug.Module{Path: "command-line-arguments"}) {
		var devel []int
		for i, d := range deps {
			if d != nil && d.Version == "(devel)" {
				devel = append(devel, i)
			}
		}
		if len(devel) == 1 {
			main = *deps[devel[0]]
			deps = slices.Delete(slices.Clone(deps), devel[0], devel[0]+1)
		} else {
			main = debug.Module{Path: bi.Path, Version: "(devel)"}
		}
	}
	return main, deps
}

// modulePathOf is the module path under which syft keys p's symbols: the
// path in the build info of the module p was made from (p's name is the
// replacement's path where the module was replaced by another module).
func modulePathOf(p pkg.Package, m pkg.GolangBinaryBuildinfoEntry, main debug.Module, deps []*debug.Module) (string, bool) {
	var paths []string
	for _, d := range deps {
		if d == nil || moduleEqual(d, &main) {
			continue
		}
		name := d.Path
		if r := d.Replace; r != nil && !strings.HasPrefix(r.Path, ".") && !strings.HasPrefix(r.Path, "/") {
			name = r.Path
		}
		// Not the version: syft's compliance rules may have stubbed it.
		if name == p.Name && !slices.Contains(paths, d.Path) {
			paths = append(paths, d.Path)
		}
	}
	// Only the main package records build settings.
	if p.Name == main.Path && (len(paths) == 0 || m.BuildSettings != nil) {
		return main.Path, true
	}
	if len(paths) != 1 {
		return "", false
	}
	return paths[0], true
}

func moduleEqual(a, b *debug.Module) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	return a.Path == b.Path && a.Version == b.Version && a.Sum == b.Sum && moduleEqual(a.Replace, b.Replace)
}

// attributeSymbols groups function names by owning module and import path,
// as syft's moduleSymbols does (the rules are restated in its terms), with
// one difference: a name of the standard library's vendored copy of a
// module ("vendor/golang.org/x/net/idna.…") is not given to that module
// (see correctVendoredSymbols). Each import path is attributed once.
func attributeSymbols(names []string, main debug.Module, deps []*debug.Module) (map[string]map[string][]string, map[string][]string) {
	modules := map[string]bool{}
	if main.Path != "" {
		modules[main.Path] = true
	}
	for _, d := range deps {
		if d != nil && d.Path != "" {
			modules[d.Path] = true
		}
	}
	type owner struct {
		module, key string // key: the import path the names are grouped under
		drop        bool
	}
	owners := map[string]owner{}
	ownerOf := func(pkgPath string) owner {
		if o, ok := owners[pkgPath]; ok {
			return o
		}
		attr := pkgPath
		if pkgPath == "main" && main.Path != "" {
			attr = main.Path
		}
		best := longestModule(modules, attr)
		if trimmed, ok := strings.CutPrefix(attr, "vendor/"); ok {
			if b := longestModule(modules, trimmed); len(b) > len(best) {
				best = b
			}
		}
		key := pkgPath
		if !strings.HasPrefix(best, "vendor/") {
			key = strings.TrimPrefix(pkgPath, "vendor/")
		}
		o := owner{module: best, key: key}
		switch {
		case best == "":
			// No module: the standard library's, unless vendored by it.
			o.drop = key == "main" || !isStandardImportPath(key)
		case key != pkgPath:
			// The standard library's vendored copy of a module.
			o.drop = true
		}
		owners[pkgPath] = o
		return o
	}

	byModule := map[string]map[string][]string{}
	stdlib := map[string][]string{}
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		pkgPath := symbolPackagePath(name)
		if pkgPath == "" {
			continue
		}
		unescaped := unescapePackagePath(pkgPath)
		if unescaped != pkgPath {
			name = unescaped + name[len(pkgPath):]
		}
		o := ownerOf(unescaped)
		if o.drop {
			continue
		}
		local := localSymbolName(name, o.key)
		if o.module == "" {
			stdlib[o.key] = append(stdlib[o.key], local)
			continue
		}
		if byModule[o.module] == nil {
			byModule[o.module] = map[string][]string{}
		}
		byModule[o.module][o.key] = append(byModule[o.module][o.key], local)
	}
	for _, groups := range byModule {
		sortCompactGroups(groups)
	}
	sortCompactGroups(stdlib)
	if len(stdlib) == 0 {
		stdlib = nil
	}
	if len(byModule) == 0 {
		byModule = nil
	}
	return byModule, stdlib
}

// longestModule is the longest module path that is path or a prefix of it
// ending at a path element.
func longestModule(modules map[string]bool, path string) string {
	for p := path; p != ""; {
		if modules[p] {
			return p
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

// symbolPackagePath is the import path of a function name, "" for names
// the compiler or linker made up (syft's rules: ':' or '..' since Go 1.20,
// reserved prefixes before).
func symbolPackagePath(name string) string {
	if strings.Contains(name, ":") || strings.Contains(name, "..") {
		return ""
	}
	for _, prefix := range oldGeneratedPrefixes {
		if strings.HasPrefix(name, prefix) {
			return ""
		}
	}
	if start := strings.IndexByte(name, '['); start >= 0 {
		if end := strings.LastIndexByte(name, ']'); end >= 0 {
			name = name[:start] + name[end+1:]
		}
	}
	slash := strings.LastIndex(name, "/")
	dot := strings.IndexByte(name[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return name[:slash+1+dot]
}

// oldGeneratedPrefixes begin the names older toolchains (before Go 1.20)
// generated.
var oldGeneratedPrefixes = []string{
	"go.buildid", "go.builtin.", "go.constinfo.", "go.cuinfo.", "go.func.", "go.importpath.", "go.info.",
	"go.interface.", "go.itab.", "go.itablink.", "go.map.", "go.shape.", "go.string.", "go.type.", "go.typelink.", "type.",
}

// unescapePackagePath undoes the linker's %xx escapes in an import path
// ("gopkg.in/yaml%2ev2" is gopkg.in/yaml.v2).
func unescapePackagePath(path string) string {
	if !strings.Contains(path, "%") {
		return path
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] == '%' && i+2 < len(path) {
			if hi, ok := unhex(path[i+1]); ok {
				if lo, ok := unhex(path[i+2]); ok {
					b.WriteByte(hi<<4 | lo)
					i += 2
					continue
				}
			}
		}
		b.WriteByte(path[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// localSymbolName is name without its import path ("(*T).M").
func localSymbolName(name, importPath string) string {
	if !strings.HasPrefix(importPath, "vendor/") {
		name = strings.TrimPrefix(name, "vendor/")
	}
	if len(importPath) < len(name) && strings.HasPrefix(name, importPath) && name[len(importPath)] == '.' {
		return name[len(importPath)+1:]
	}
	return name
}

func sortCompactGroups(groups map[string][]string) {
	for path, names := range groups {
		slices.Sort(names)
		groups[path] = slices.Compact(names)
	}
}

// isStandardImportPath: the first path element has no dot.
func isStandardImportPath(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return first != "" && !strings.Contains(first, ".")
}

// syftGoSymbols catalogs the binaries left with syft's own golang
// cataloger, capturing symbols, and copies them onto the matching
// packages in changed.
func syftGoSymbols(ctx context.Context, res file.Resolver, bins []*goBinary, changed map[artifact.ID]pkg.Package) error {
	want := map[file.Coordinates]bool{}
	for _, b := range bins {
		want[b.loc.Coordinates] = true
	}
	found, _, err := golang.NewGoModuleBinaryCataloger(goConfig(true)).Catalog(ctx, onlyFiles{Resolver: res, want: want})
	if err != nil {
		return fmt.Errorf("go symbols: %w", err)
	}
	// Not the version: syft's compliance rules may have stubbed it since.
	type key struct {
		coords               file.Coordinates
		name, main, h1, arch string
	}
	keyOf := func(p pkg.Package) (key, pkg.GolangBinaryBuildinfoEntry, bool) {
		m, ok := p.Metadata.(pkg.GolangBinaryBuildinfoEntry)
		locs := p.Locations.ToSlice()
		if !ok || len(locs) == 0 {
			return key{}, m, false
		}
		return key{locs[0].Coordinates, p.Name, m.MainModule, m.H1Digest, m.Architecture}, m, true
	}
	symbols := map[key]map[string][]string{}
	for _, p := range found {
		if k, m, ok := keyOf(p); ok {
			symbols[k] = m.Symbols
		}
	}
	for _, b := range bins {
		for id, p := range b.pkgs {
			k, m, _ := keyOf(p)
			if m.Symbols = symbols[k]; m.Symbols == nil {
				continue
			}
			p.Metadata = m
			changed[id] = p
		}
	}
	return nil
}

// onlyFiles is a resolver that offers a cataloger only the wanted files.
type onlyFiles struct {
	file.Resolver
	want map[file.Coordinates]bool
}

func (r onlyFiles) FilesByMIMEType(types ...string) ([]file.Location, error) {
	locs, err := r.Resolver.FilesByMIMEType(types...)
	return slices.DeleteFunc(locs, func(l file.Location) bool { return !r.want[l.Coordinates] }), err
}
