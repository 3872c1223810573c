package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/internal/testutil/goprog"
	"github.com/sealyard/sealyard/internal/testutil/peers"
	"github.com/sealyard/sealyard/internal/testutil/schemas"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/predicate"
)

// TestReachabilityVEX runs sealyard run on an image holding one Go program
// (an old golang.org/x/net, built with a toolchain that has
// standard-library advisories, most of whose symbols it never links) and
// checks the reachability OpenVEX
// document it writes and attests: it validates against the OpenVEX 0.2.0
// schema; it states exactly the findings shown unreachable (no statement
// for a reachable one or one without symbol information); the stock
// cosign CLI verifies its attestation; verify --require vex passes; and
// the stock grype CLI given it drops exactly those findings.
func TestReachabilityVEX(t *testing.T) {
	s := newSigning(t)
	out := t.TempDir()
	repo := s.reg.Host + "/vex"
	src := programLayout(t, goprog.NetHTML)
	args := append([]string{"run", src, "--to", repo + ":v1", "--key", s.priv, "--skip-tlog-unsafe", "--gate-mode", "audit", "--out", out}, dbArgs(t)...)
	r := s.sealyard(t, args...).mustSucceed(t)
	line := strings.TrimSpace(r.stdout)
	ref := repo + "@" + line[strings.Index(line, "@")+1:]
	digest := ref[strings.Index(ref, "@")+1:]

	doc := mustRead(t, filepath.Join(out, "reachability.openvex.json"))
	schemas.Validate(t, schemas.OpenVEX, doc)
	var vex struct {
		Statements []struct {
			Vulnerability struct{ Name string } `json:"vulnerability"`
			Products      []struct {
				ID            string `json:"@id"`
				Subcomponents []struct {
					ID string `json:"@id"`
				} `json:"subcomponents"`
			} `json:"products"`
			Status, Justification string
			Impact                string `json:"impact_statement"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(doc, &vex); err != nil {
		t.Fatal(err)
	}
	var findings facts.Report
	if err := json.Unmarshal(mustRead(t, filepath.Join(out, "findings.json")), &findings); err != nil {
		t.Fatal(err)
	}
	type key struct{ id, purl string }
	// A package's advisory is unreachable in the image when it is in no
	// binary that links the vulnerable code (the statement is about the
	// image and the package, not one binary).
	unreachable, shown, reachableSomewhere := map[key]bool{}, map[key]bool{}, map[key]bool{}
	for _, f := range findings.Findings {
		k := key{f.ID, f.Package.PURL}
		if f.Reachable != nil && !*f.Reachable && f.Package.PURL != "" {
			unreachable[k] = true
		} else {
			reachableSomewhere[k] = true
		}
	}
	for k := range reachableSomewhere {
		delete(unreachable, k)
	}
	stillThere := 0
	for _, f := range findings.Findings {
		if !unreachable[key{f.ID, f.Package.PURL}] {
			stillThere++
		}
	}
	for _, st := range vex.Statements {
		if st.Status != "not_affected" || st.Justification != "vulnerable_code_not_in_execute_path" || !strings.Contains(st.Impact, "is linked into") {
			t.Errorf("statement %s: %s/%s %q", st.Vulnerability.Name, st.Status, st.Justification, st.Impact)
		}
		for _, p := range st.Products {
			if !strings.HasPrefix(p.ID, "pkg:oci/vex@"+digest) && !strings.HasPrefix(p.ID, "pkg:oci/vex@"+strings.Replace(digest, ":", "%3A", 1)) {
				t.Errorf("statement %s names product %s, not the image", st.Vulnerability.Name, p.ID)
			}
			for _, sc := range p.Subcomponents {
				k := key{st.Vulnerability.Name, sc.ID}
				if !unreachable[k] {
					t.Errorf("a statement for %v, which the analysis did not show unreachable", k)
				}
				shown[k] = true
			}
		}
	}
	for k := range unreachable {
		if !shown[k] {
			t.Errorf("no statement for the unreachable finding %v", k)
		}
	}
	if len(unreachable) < 3 {
		t.Fatalf("only %d unreachable findings in the fixture: nothing much tested", len(unreachable))
	}

	// The stock cosign CLI verifies the attestation; its predicate is the file.
	st := s.attested(t, predicate.OpenVEX, ref)
	if st.PredicateType != predicate.OpenVEX || !st.About(digest) || !jsonEqual(t, st.Predicate, doc) {
		t.Fatalf("cosign verified %s about %v, not the document", st.PredicateType, st.SubjectDigests())
	}
	s.sealyard(t, "verify", ref, "--key", s.pub, "--skip-tlog-unsafe", "--require", "vex").mustSucceed(t)

	// The stock grype CLI on the pushed image (it catalogs it itself,
	// without symbols), with and without the document.
	grypeEnv := []string{"GRYPE_REGISTRY_AUTH_AUTHORITY=" + s.reg.Host, "GRYPE_REGISTRY_AUTH_USERNAME=" + s.reg.Username,
		"GRYPE_REGISTRY_AUTH_PASSWORD=" + s.reg.Password, "GRYPE_REGISTRY_CA_CERT=" + s.reg.CAFile}
	before := grypeMatches(t, grypeEnv, "registry:"+ref)
	after := grypeMatches(t, grypeEnv, "registry:"+ref, "--vex", filepath.Join(out, "reachability.openvex.json"))
	var dropped, droppedReachable, keptUnreachable []string
	for m := range before {
		k := key{m[0], m[1]}
		switch {
		case !after[m] && !unreachable[k]:
			droppedReachable = append(droppedReachable, fmt.Sprint(m))
		case !after[m]:
			dropped = append(dropped, fmt.Sprint(m))
		case unreachable[k]:
			keptUnreachable = append(keptUnreachable, fmt.Sprint(m))
		}
	}
	sort.Strings(droppedReachable)
	sort.Strings(keptUnreachable)
	t.Logf("stock grype: %d matches without the VEX document, %d with it (%d dropped); sealyard: %d findings, %d unreachable",
		len(before), len(after), len(dropped), len(findings.Findings), len(unreachable))
	if len(droppedReachable) > 0 {
		t.Errorf("grype dropped findings the analysis did not show unreachable: %v", droppedReachable)
	}
	if len(keptUnreachable) > 0 {
		t.Errorf("grype kept findings the document states unreachable: %v", keptUnreachable)
	}
	if len(dropped) == 0 {
		t.Fatal("grype dropped nothing: the document is not honoured")
	}

	// gate --vex-from-attestation: the attested document, verified with
	// the signer's key, removes the same findings; another key is refused.
	decisionFile := filepath.Join(t.TempDir(), "decision.json")
	g := s.sealyard(t, append([]string{"gate", "registry:" + ref, "--vex-from-attestation", "--key", s.pub, "--skip-tlog-unsafe", "-o", "json=" + decisionFile}, dbArgs(t)...)...)
	if g.code == ExitError {
		t.Fatalf("gate --vex-from-attestation: %s", g.stderr)
	}
	var decision facts.Decision
	if err := json.Unmarshal(mustRead(t, decisionFile), &decision); err != nil {
		t.Fatal(err)
	}
	if decision.Counts.SuppressedByVEX != len(findings.Findings)-stillThere {
		t.Errorf("gate --vex-from-attestation removed %d findings, want %d", decision.Counts.SuppressedByVEX, len(findings.Findings)-stillThere)
	}
	otherKey := filepath.Join(t.TempDir(), "other")
	run(t, "", s.env, "keygen", "--output-key-prefix", otherKey).mustSucceed(t)
	if g := s.sealyard(t, append([]string{"gate", "registry:" + ref, "--vex-from-attestation", "--key", otherKey + ".pub", "--skip-tlog-unsafe"}, dbArgs(t)...)...); g.code != ExitError || !strings.Contains(g.stderr, "--vex-from-attestation") {
		t.Fatalf("gate --vex-from-attestation with another key: exit %d %s", g.code, g.stderr)
	}

	// sealyard scan --vex, on the same image from its layout (another
	// name, the same digest): the unreachable findings move to ignored.
	scanned := filepath.Join(t.TempDir(), "findings.json")
	r = run(t, "", nil, append([]string{"scan", src, "--vex", filepath.Join(out, "reachability.openvex.json"), "-o", "json=" + scanned}, dbArgs(t)...)...)
	if r.code != ExitOK {
		t.Fatalf("scan --vex: exit %d %s", r.code, r.stderr)
	}
	var filtered facts.Report
	if err := json.Unmarshal(mustRead(t, scanned), &filtered); err != nil {
		t.Fatal(err)
	}
	for _, f := range filtered.Findings {
		if unreachable[key{f.ID, f.Package.PURL}] {
			t.Errorf("scan --vex kept the unreachable %s in %s", f.ID, f.Package.PURL)
		}
	}
	byVEX := 0
	for _, ig := range filtered.Ignored {
		if len(ig.Reasons) > 0 && strings.HasPrefix(ig.Reasons[0], "VEX ") {
			byVEX++
			if !unreachable[key{ig.ID, ig.Package.PURL}] {
				t.Errorf("scan --vex removed %s in %s, which is reachable", ig.ID, ig.Package.PURL)
			}
		}
	}
	t.Logf("sealyard scan --vex: %d findings, %d removed by the document", len(filtered.Findings), byVEX)
	if len(filtered.Findings) != stillThere {
		t.Errorf("scan --vex: %d findings, want the %d whose code is linked somewhere or unknown", len(filtered.Findings), stillThere)
	}
}

// programDir is a directory holding program p, built for linux/amd64.
func programDir(t *testing.T, p goprog.Program) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(goprog.Build(t, p, "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, p.Name), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// layoutOf builds a linux/amd64 image of srcs (one layer each), running
// as a non-root user, and writes it as an OCI layout.
func layoutOf(t *testing.T, srcs ...build.Source) string {
	t.Helper()
	a, err := build.Build(context.Background(), srcs,
		build.WithPlatforms(v1.Platform{OS: "linux", Architecture: "amd64"}), build.WithCreated(time.Unix(1700000000, 0)), build.WithUser("65532"))
	if err != nil {
		t.Fatal(err)
	}
	layout := filepath.Join(t.TempDir(), "layout")
	if err := image.Write(context.Background(), a, "oci-dir:"+layout); err != nil {
		t.Fatal(err)
	}
	return "oci-dir:" + layout
}

// programLayout writes an image holding program p in /usr/local/bin.
func programLayout(t *testing.T, p goprog.Program) string {
	t.Helper()
	return layoutOf(t, build.Directory(programDir(t, p), "/usr/local/bin"))
}

// grypeMatches runs the stock grype CLI on the fixture database and
// returns its matches as (vulnerability, package PURL).
func grypeMatches(t *testing.T, env []string, args ...string) map[[2]string]bool {
	t.Helper()
	cmd := exec.Command(peers.Grype.Path(t), append(args, "-q", "-o", "json")...)
	cmd.Env = append(append(os.Environ(), env...), "GRYPE_DB_CACHE_DIR="+vulnfixture.DBDir(t), "GRYPE_DB_AUTO_UPDATE=false",
		"GRYPE_DB_VALIDATE_AGE=false", "GRYPE_CHECK_FOR_APP_UPDATE=false")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("grype %v: %v\n%s", args, err, stderr.String())
	}
	var doc struct {
		Matches []struct {
			Vulnerability struct{ ID string }   `json:"vulnerability"`
			Artifact      struct{ PURL string } `json:"artifact"`
		} `json:"matches"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("grype output: %v", err)
	}
	out := map[[2]string]bool{}
	for _, m := range doc.Matches {
		out[[2]string{m.Vulnerability.ID, m.Artifact.PURL}] = true
	}
	return out
}
