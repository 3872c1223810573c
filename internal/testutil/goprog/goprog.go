// Package goprog compiles small Go programs for tests, against pinned old
// module versions with published advisories, and caches the binaries keyed
// by source, requirements, Go toolchain and target platform.
package goprog

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/fixturecache"
)

// Program is a main package and the modules it requires.
type Program struct {
	// Name is the binary's name.
	Name string
	// Main is the source of main.go.
	Main string
	// Require lists "module version" lines for go.mod.
	Require []string
	// Toolchain, when set, builds with GOTOOLCHAIN=Toolchain (e.g. go1.27.3).
	Toolchain string
	// Ldflags are passed to go build -ldflags.
	Ldflags string
}

// TextParse links golang.org/x/text v0.3.5 and calls language.Parse:
// GO-2021-0113 is reachable, GO-2022-1059 (ParseAcceptLanguage) too through
// the matcher, and the module has every older x/text advisory at module level.
var TextParse = Program{
	Name: "textparse",
	Main: `package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	arg := "en-US"
	if len(os.Args) > 1 {
		arg = os.Args[1]
	}
	tag, err := language.Parse(arg)
	if err != nil {
		fmt.Println("bad tag:", err)
		os.Exit(1)
	}
	fmt.Println(tag)
}
`,
	Require: []string{"golang.org/x/text v0.3.5"},
}

// NetHTML links an old golang.org/x/net and parses HTML, and serves HTTP
// with the standard library, so it has x/net advisories (some reachable,
// some not) and standard library ones.
var NetHTML = Program{
	Name: "nethtml",
	Main: `package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"golang.org/x/net/html"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
		_ = http.ListenAndServe(":8080", nil)
		return
	}
	doc, err := html.Parse(strings.NewReader("<p>hello</p>"))
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(doc.FirstChild.Type)
}
`,
	Require: []string{"golang.org/x/net v0.10.0"},
}

// WithToolchain returns p built with another Go toolchain, under another
// name (go1.27.3 has no standard library advisory in the pinned database).
func WithToolchain(p Program, toolchain string) Program {
	p.Name += "-" + strings.ReplaceAll(toolchain, ".", "")
	p.Toolchain = toolchain
	return p
}

// Stripped returns p built with -ldflags="-s -w" under another name: the
// symbol table is gone, the pclntab (which symbol capture reads) is not.
func Stripped(p Program) Program {
	p.Name += "-stripped"
	p.Ldflags = "-s -w"
	return p
}

// Build compiles p for linux/arch and returns the binary's path.
func Build(t testing.TB, p Program, arch string) string {
	t.Helper()
	return BuildFor(t, p, "linux", arch)
}

// BuildFor compiles p for goos/arch and returns the binary's path.
func BuildFor(t testing.TB, p Program, goos, arch string) string {
	t.Helper()
	goVersion := p.Toolchain
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	reqs := append([]string(nil), p.Require...)
	sort.Strings(reqs)
	platform := arch
	if goos != "linux" {
		platform = goos + "-" + arch
	}
	key := fixturecache.Key("goprog-v1", p.Name, p.Main, strings.Join(reqs, ";"), goVersion, platform, p.Ldflags)
	dir := fixturecache.Dir(t, "goprog-"+p.Name+"-"+platform, key, func(dir string) error {
		return build(p, goos, arch, dir)
	})
	return filepath.Join(dir, p.Name)
}

func build(p Program, goos, arch, out string) error {
	src, err := os.MkdirTemp("", "goprog-src-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	gomod := "module example.com/" + p.Name + "\n\ngo 1.22\n"
	for _, r := range p.Require {
		gomod += "\nrequire " + r + "\n"
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(p.Main), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+arch, "GOFLAGS=-mod=mod")
	if p.Toolchain != "" {
		env = append(env, "GOTOOLCHAIN="+p.Toolchain)
	}
	run := func(args ...string) error {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = src, env
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	if err := run("mod", "tidy"); err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-o", filepath.Join(out, p.Name)}
	if p.Ldflags != "" {
		args = append(args, "-ldflags="+p.Ldflags)
	}
	return run(append(args, ".")...)
}
