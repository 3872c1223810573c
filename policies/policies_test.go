package policies

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/util"
)

// TestRegoTests runs every _test.rego with OPA's Go test runner, over the
// policies and the default settings, and checks that every rule has a test
// that fires it and one that does not.
func TestRegoTests(t *testing.T) {
	files, err := filepath.Glob("*.rego")
	if err != nil {
		t.Fatal(err)
	}
	modules, store, err := tester.Load(append(files, "data.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := tester.NewRunner().SetStore(store).Run(context.Background(), modules)
	if err != nil {
		t.Fatal(err)
	}
	passed := map[string]bool{}
	n := 0
	for r := range ch {
		n++
		if r.Error != nil {
			t.Errorf("%s.%s: error: %v", r.Package, r.Name, r.Error)
			continue
		}
		if r.Fail {
			t.Errorf("%s.%s failed", r.Package, r.Name)
			continue
		}
		passed[r.Name] = true
	}
	if n == 0 {
		t.Fatal("no Rego tests ran")
	}
	ids := ruleIDs(t, files)
	if len(ids) < 10 {
		t.Fatalf("found only %d rule ids: %v", len(ids), ids)
	}
	for _, id := range ids {
		base := "test_" + strings.ToLower(strings.ReplaceAll(id, "-", "_"))
		for _, suffix := range []string{"_fires", "_passes"} {
			if !passed[base+suffix] {
				t.Errorf("rule %s has no passing %s%s", id, base, suffix)
			}
		}
	}
	t.Logf("%d Rego tests passed, covering rules %v", n, ids)
}

var ruleID = regexp.MustCompile(`"rule":\s*"(SY-[A-Z]+-[0-9]+)"`)

func ruleIDs(t *testing.T, files []string) []string {
	seen := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.rego") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ruleID.FindAllStringSubmatch(string(b), -1) {
			seen[m[1]] = true
		}
	}
	var out []string
	for id := range seen {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// TestRegoFormatting fails when a .rego file is not as opa fmt writes it.
func TestRegoFormatting(t *testing.T) {
	files, _ := filepath.Glob("*.rego")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := format.Source(f, src)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if string(want) != string(src) {
			t.Errorf("%s is not formatted (opa fmt would rewrite it)", f)
		}
	}
}

// TestDataParses checks the default settings file.
func TestDataParses(t *testing.T) {
	b, err := FS.ReadFile("data.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := util.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["settings"]; !ok {
		t.Fatal("data.yaml has no settings")
	}
}
