package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// The database as a signed OCI artifact: db push twice gives one digest;
// db pull into another directory installs a database with the same digest,
// and a scan with it records the artifact; an artifact signed by another
// key, and a signed image that is not a database, are refused with
// nothing installed.
func TestDBArtifact(t *testing.T) {
	s := newSigning(t)
	src := vulnfixture.DBDir(t)
	want, err := vulndb.Inspect(src)
	if err != nil {
		t.Fatal(err)
	}
	repo := s.reg.Host + "/security/sealyard-db"
	push := func() string {
		t.Helper()
		r := s.sealyard(t, "db", "push", repo+":latest", "--db", src, "--key", s.priv, "--skip-tlog-unsafe").mustSucceed(t)
		return strings.TrimSpace(r.stdout)
	}
	ref := push()
	if again := push(); again != ref || !strings.HasPrefix(ref, repo+"@sha256:") {
		t.Fatalf("pushed %s, then %s", ref, again)
	}

	dir := filepath.Join(t.TempDir(), "db")
	r := s.sealyard(t, "db", "pull", ref, "--db", dir, "--key", s.pub, "--skip-tlog-unsafe").mustSucceed(t)
	var st vulndb.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Digest != want.Digest || st.Artifact != ref || st.SchemaVersion != want.SchemaVersion || !st.Built.Equal(want.Built) {
		t.Fatalf("pulled %+v, want digest %s from %s", st, want.Digest, ref)
	}
	out := filepath.Join(t.TempDir(), "findings.json")
	run(t, "", nil, "scan", fixtureLayout(t), "--db", dir, "--db-max-age", "0", "-o", "json="+out).mustSucceed(t)
	var rep facts.Report
	json.Unmarshal(mustRead(t, out), &rep)
	if rep.DB.Digest != want.Digest || rep.DB.Artifact != ref {
		t.Fatalf("the scan records %+v, want %s from %s", rep.DB, want.Digest, ref)
	}

	// Signed by another key: refused, nothing installed.
	other := filepath.Join(t.TempDir(), "other")
	run(t, "", s.env, "keygen", "--output-key-prefix", other).mustSucceed(t)
	empty := filepath.Join(t.TempDir(), "db")
	r = s.sealyard(t, "db", "pull", ref, "--db", empty, "--key", other+".pub", "--skip-tlog-unsafe")
	if r.code != ExitError || !strings.Contains(r.stderr, "does not verify") {
		t.Fatalf("another key: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := vulndb.Inspect(empty); err == nil {
		t.Fatal("a database was installed from an artifact that does not verify")
	}

	// The log's check switched off from the environment, where a
	// variable set up the CI configuration would hide it: refused, the
	// flag named, nothing installed. (--trusted-root and --ca-file from
	// the environment: TestActionWithReleasedImage.)
	env := map[string]string{"COSIGN_PASSWORD": s.password, "SEALYARD_SKIP_TLOG_UNSAFE": "true"}
	r = run(t, s.reg.Password, env, append([]string{"db", "pull", ref, "--db", empty, "--key", s.pub}, registryArgs(s.reg)...)...)
	if r.code != ExitError || !strings.Contains(r.stderr, "SEALYARD_SKIP_TLOG_UNSAFE sets skip-tlog-unsafe") {
		t.Fatalf("the log's check off from the environment: exit %d\n%s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(empty); len(entries) > 0 {
		t.Fatalf("files left in %s: %v", empty, entries)
	}

	// A signed image that is not a database artifact: refused.
	img := s.push(t, "notadb")
	s.sealyard(t, "sign", img, "--key", s.priv, "--skip-tlog-unsafe").mustSucceed(t)
	r = s.sealyard(t, "db", "pull", img, "--db", empty, "--key", s.pub, "--skip-tlog-unsafe")
	if r.code != ExitError || !strings.Contains(r.stderr, "not a valid vulnerability database artifact") {
		t.Fatalf("an image as a database: exit %d\n%s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(empty); len(entries) > 0 {
		t.Fatalf("files left in %s: %v", empty, entries)
	}
}
