package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/goprog"
	"github.com/sealyard/sealyard/internal/testutil/schemas"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
)

// fixtureLayout writes the vulnerable fixture image as an OCI layout.
func fixtureLayout(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fixture")
	if err := image.Write(context.Background(), vulnfixture.Image(t).Image, "oci-dir:"+dir); err != nil {
		t.Fatal(err)
	}
	return "oci-dir:" + dir
}

func dbArgs(t *testing.T) []string {
	return []string{"--db", vulnfixture.DBDir(t), "--db-max-age", "0"}
}

func TestSBOMCommand(t *testing.T) {
	ref := fixtureLayout(t)
	out := t.TempDir()
	cdx, spdx, syftJSON := filepath.Join(out, "sbom.cdx.json"), filepath.Join(out, "sbom.spdx.json"), filepath.Join(out, "sbom.syft.json")
	env := map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	r := run(t, "", env, "sbom", ref, "-o", "cyclonedx-json="+cdx, "-o", "spdx-json="+spdx, "-o", "syft-json="+syftJSON, "-o", "table").mustSucceed(t)
	if !strings.Contains(r.stdout, "golang.org/x/text") || !strings.Contains(r.stdout, "base-files") {
		t.Fatalf("table:\n%s", r.stdout)
	}
	schemas.Validate(t, schemas.CycloneDX, mustRead(t, cdx))
	schemas.Validate(t, schemas.SPDX, mustRead(t, spdx))
	// The same image and SOURCE_DATE_EPOCH give the same bytes.
	again := filepath.Join(out, "again.cdx.json")
	run(t, "", env, "sbom", ref, "-o", "cyclonedx-json="+again).mustSucceed(t)
	if string(mustRead(t, again)) != string(mustRead(t, cdx)) {
		t.Fatal("two SBOM runs gave different CycloneDX bytes")
	}
	bad := run(t, "", nil, "sbom", ref, "-o", "cyclonedx-yaml")
	if bad.code != ExitError || !strings.Contains(bad.stderr, "unknown output format") {
		t.Fatalf("unknown format: %+v", bad)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScanCommand(t *testing.T) {
	ref := fixtureLayout(t)
	out := filepath.Join(t.TempDir(), "findings.json")
	r := run(t, "", nil, append([]string{"scan", ref, "-o", "table", "-o", "json=" + out}, dbArgs(t)...)...).mustSucceed(t)
	if !strings.Contains(r.stdout, "GO-2021-0113") {
		t.Fatalf("table lacks GO-2021-0113:\n%s", r.stdout)
	}
	var doc map[string]any
	if err := json.Unmarshal(mustRead(t, out), &doc); err != nil {
		t.Fatal(err)
	}
	db, _ := doc["db"].(map[string]any)
	if d, _ := db["digest"].(string); !strings.HasPrefix(d, "sha256:") {
		t.Fatalf("no DB digest at the top level: %v", doc["db"])
	}
	findings, _ := doc["findings"].([]any)
	if len(findings) == 0 {
		t.Fatal("no findings")
	}
	found := false
	for _, f := range findings {
		m := f.(map[string]any)
		for _, key := range []string{"id", "aliases", "package", "severity", "fix", "reachable", "locations"} {
			if _, ok := m[key]; !ok {
				t.Fatalf("finding %v lacks %q", m["id"], key)
			}
		}
		p := m["package"].(map[string]any)
		for _, key := range []string{"name", "version", "type", "purl"} {
			if _, ok := p[key]; !ok {
				t.Fatalf("finding %v: package lacks %q", m["id"], key)
			}
		}
		fix := m["fix"].(map[string]any)
		if m["id"] == "GO-2021-0113" && p["name"] == "golang.org/x/text" && p["version"] == "v0.3.5" {
			if vs := fix["versions"].([]any); len(vs) == 1 && vs[0] == "0.3.7" {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("GO-2021-0113 in golang.org/x/text v0.3.5 with fix 0.3.7 not among the findings")
	}

	// --fail-on: Go advisories are Unknown, so high does not trip, unknown does.
	run(t, "", nil, append([]string{"scan", ref, "--fail-on", "high", "-o", "json=" + out}, dbArgs(t)...)...).mustSucceed(t)
	tripped := run(t, "", nil, append([]string{"scan", ref, "--fail-on", "unknown", "-o", "json=" + out}, dbArgs(t)...)...)
	if tripped.code != ExitDenied || !strings.Contains(tripped.stderr, "--fail-on") {
		t.Fatalf("--fail-on unknown: exit %d %q", tripped.code, tripped.stderr)
	}

	// Scanning the SBOM file gives the same advisories.
	sbomFile := filepath.Join(t.TempDir(), "s.syft.json")
	run(t, "", nil, "sbom", ref, "-o", "syft-json="+sbomFile).mustSucceed(t)
	fromFile := run(t, "", nil, append([]string{"scan", "sbom:" + sbomFile, "-o", "table"}, dbArgs(t)...)...).mustSucceed(t)
	if ids(fromFile.stdout) != ids(r.stdout) {
		t.Fatalf("image and SBOM scans differ:\n%s\n---\n%s", r.stdout, fromFile.stdout)
	}
}

// ids extracts the VULNERABILITY column of a findings table.
func ids(table string) string {
	var out []string
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		for _, x := range f {
			if strings.HasPrefix(x, "GO-") {
				out = append(out, x)
			}
		}
	}
	return strings.Join(out, " ")
}

func TestScanBadInputs(t *testing.T) {
	ref := fixtureLayout(t)
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "not.json")
	os.WriteFile(notJSON, []byte("hello, I am not an SBOM"), 0o644)
	unknown := filepath.Join(dir, "unknown.json")
	os.WriteFile(unknown, []byte(`{"inventory": {"packages": []}}`), 0o644)

	corrupt := filepath.Join(dir, "corrupt")
	os.CopyFS(corrupt, os.DirFS(vulnfixture.DBDir(t)))
	dbFile := filepath.Join(corrupt, "6", "vulnerability.db")
	data := mustRead(t, dbFile)
	os.WriteFile(dbFile, data[:len(data)/3], 0o644)

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"SBOM not JSON", append([]string{"scan", "sbom:" + notJSON}, dbArgs(t)...), "neither JSON nor XML"},
		{"SBOM of unknown format", append([]string{"scan", "sbom:" + unknown}, dbArgs(t)...), "unknown SBOM format"},
		{"corrupt DB", []string{"scan", ref, "--db", corrupt, "--db-max-age", "0"}, "corrupt"},
		{"missing DB", []string{"scan", ref, "--db", filepath.Join(dir, "none")}, "sealyard db build"},
		{"bad --fail-on", append([]string{"scan", ref, "--fail-on", "severe"}, dbArgs(t)...), "unknown severity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", nil, tt.args...)
			if r.code != ExitError || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q, want exit 2 mentioning %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestDBCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	r := run(t, "", nil, "db", "build", "--osv", "../../../../pipelines/vulndb/testdata/osv", "--out", dir).mustSucceed(t)
	if !strings.Contains(r.stdout, "Vulnerabilities:    4") {
		t.Fatalf("build output:\n%s", r.stdout)
	}
	st := run(t, "", nil, "db", "status", "--db", dir, "-o", "json").mustSucceed(t)
	var status struct {
		SchemaVersion string
		Providers     []struct{ Name string }
		Digest        string
	}
	if err := json.Unmarshal([]byte(st.stdout), &status); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(status.SchemaVersion, "v6.") || len(status.Providers) != 1 || !strings.HasPrefix(status.Digest, "sha256:") {
		t.Fatalf("status %+v", status)
	}
	wrong := filepath.Join(t.TempDir(), "wrong.tar.gz")
	os.WriteFile(wrong, []byte("not a database archive"), 0o644)
	imp := run(t, "", nil, "db", "import", wrong, "--db", dir)
	if imp.code != ExitError {
		t.Fatalf("importing garbage: %+v", imp)
	}
	run(t, "", nil, "db", "status", "--db", dir).mustSucceed(t)
}

// TestLayerAttribution: an image whose base layer holds one vulnerable
// program (golang.org/x/net) and whose own layer holds another
// (golang.org/x/text). Each finding names its layer; with --base the
// x/net findings are the base image's, the x/text ones the application's,
// and the fixes say which is which.
func TestLayerAttribution(t *testing.T) {
	baseBins, appBins := programDir(t, goprog.NetHTML), programDir(t, goprog.TextParse)
	base := layoutOf(t, build.Directory(baseBins, "/usr/local/bin"))
	app := layoutOf(t, build.Directory(baseBins, "/usr/local/bin"), build.Directory(appBins, "/app"))

	findingsFile := filepath.Join(t.TempDir(), "findings.json")
	r := run(t, "", nil, append([]string{"scan", app, "--base", base, "-o", "table", "-o", "json=" + findingsFile}, dbArgs(t)...)...)
	if r.code != ExitOK {
		t.Fatalf("scan: exit %d %s", r.code, r.stderr)
	}
	var rep facts.Report
	if err := json.Unmarshal(mustRead(t, findingsFile), &rep); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, f := range rep.Findings {
		if len(f.Locations) == 0 || f.Locations[0].LayerIndex == nil || f.Locations[0].Base == nil {
			t.Fatalf("%s in %s names no layer: %+v", f.ID, f.Package.Name, f.Locations)
		}
		l := f.Locations[0]
		wantIdx, wantBase := 1, false
		if strings.HasPrefix(l.Path, "/usr/local/bin/") {
			wantIdx, wantBase = 0, true
		}
		if *l.LayerIndex != wantIdx || *l.Base != wantBase || l.LayerID == "" {
			t.Errorf("%s in %s at %s: layer %d (base %v), want %d (base %v)", f.ID, f.Package.Name, l.Path, *l.LayerIndex, *l.Base, wantIdx, wantBase)
		}
		counts[fmt.Sprint(wantBase)]++
	}
	if counts["true"] == 0 || counts["false"] == 0 {
		t.Fatalf("findings in the base %d, in the application %d: the fixture does not split", counts["true"], counts["false"])
	}
	for _, want := range []string{"go get golang.org/x/net@", "go get golang.org/x/text@", "base image", "your code"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "go get golang.org/x/net@") && !strings.Contains(line, "base image") ||
			strings.HasPrefix(line, "go get golang.org/x/text@") && !strings.Contains(line, "your code") {
			t.Errorf("fix attributed to the wrong side: %q", line)
		}
	}
	// --base-update: a newer base without the program clears every
	// finding in the base's layers; the same base again clears none.
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "os-release"), []byte("ID=example\n"), 0o644)
	newer := layoutOf(t, build.Directory(empty, "/etc"))
	for _, c := range []struct {
		newer string
		want  string
	}{
		{newer, fmt.Sprintf("clears %d of the %d findings in its layers", counts["true"], counts["true"])},
		{base, fmt.Sprintf("clears 0 of the %d findings in its layers", counts["true"])},
	} {
		r := run(t, "", nil, append([]string{"scan", app, "--base", base, "--base-update", c.newer, "-o", "json=" + filepath.Join(t.TempDir(), "f.json")}, dbArgs(t)...)...)
		if r.code != ExitOK || !strings.Contains(r.stderr, c.want) {
			t.Fatalf("--base-update %s: exit %d, want %q in\n%s", c.newer, r.code, c.want, r.stderr)
		}
	}
	if r := run(t, "", nil, append([]string{"scan", app, "--base-update", newer}, dbArgs(t)...)...); r.code != ExitError || !strings.Contains(r.stderr, "needs --base") {
		t.Fatalf("--base-update without --base: exit %d %s", r.code, r.stderr)
	}

	// sealyard run with --base: the summary splits the fixes.
	sg := newSigning(t)
	out := t.TempDir()
	sg.sealyard(t, append([]string{"run", app, "--base", base, "--base-update", newer, "--to", sg.reg.Host + "/layers:v1", "--key", sg.priv, "--skip-tlog-unsafe", "--gate-mode", "audit", "--out", out}, dbArgs(t)...)...).mustSucceed(t)
	summary := string(mustRead(t, filepath.Join(out, "summary.md")))
	if want := fmt.Sprintf("clears %d of the %d findings in its layers", counts["true"], counts["true"]); !strings.Contains(summary, want) {
		t.Fatalf("the run summary does not say what the base update clears (%q):\n%s", want, summary)
	}
	ours, theirs := strings.Index(summary, "### Fix in your code"), strings.Index(summary, "### Fix by updating the base image")
	text, net := strings.Index(summary, "go get golang.org/x/text@"), strings.Index(summary, "go get golang.org/x/net@")
	if ours < 0 || theirs < 0 || !(ours < text && text < theirs && theirs < net) {
		t.Fatalf("the run summary does not put x/text under your code and x/net under the base image:\n%s", summary)
	}

	// Without --base, layers are named and the base is not guessed.
	r = run(t, "", nil, append([]string{"scan", app, "-o", "json=" + findingsFile}, dbArgs(t)...)...)
	rep = facts.Report{}
	if err := json.Unmarshal(mustRead(t, findingsFile), &rep); err != nil || r.code != ExitOK {
		t.Fatal(err, r.stderr)
	}
	for _, f := range rep.Findings {
		if f.Locations[0].LayerIndex == nil || f.Locations[0].Base != nil {
			t.Fatalf("without --base: %+v", f.Locations[0])
		}
	}
}
