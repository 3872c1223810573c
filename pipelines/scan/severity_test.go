package scan

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// TestSeverity scans the fixture against hand-written Go advisories
// (../vulndb/testdata/osv) that carry CVSS vectors, or none.
func TestSeverity(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "db")
	if _, err := vulndb.Build(ctx, []string{"../vulndb/testdata/osv"}, root); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fx := vulnfixture.Image(t)
	doc, err := sbom.Generate(ctx, fx.Image)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Scan(ctx, FromDocument(doc), db)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		severity string
		score    float64
		vector   string
	}
	wants := map[string]want{
		"GO-9999-0001": {"Critical", 9.8, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
		"GO-9999-0002": {"Unknown", 0, ""},
		"GO-9999-0003": {"Low", 1.8, "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"},
	}
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Locations[0].Path != "/usr/local/bin/textparse" {
			continue
		}
		w, ok := wants[f.ID]
		if !ok {
			t.Errorf("unexpected finding %s", f.ID)
			continue
		}
		seen[f.ID] = true
		if f.Severity != w.severity {
			t.Errorf("%s: severity %q, want %q", f.ID, f.Severity, w.severity)
		}
		if w.vector == "" {
			if len(f.CVSS) != 0 {
				t.Errorf("%s: CVSS %+v for an advisory with none", f.ID, f.CVSS)
			}
			continue
		}
		if len(f.CVSS) != 1 || f.CVSS[0].Vector != w.vector || f.CVSS[0].BaseScore != w.score || f.CVSS[0].Version != "3.1" {
			t.Errorf("%s: CVSS %+v", f.ID, f.CVSS)
		}
	}
	if len(seen) != len(wants) {
		t.Errorf("found %v, want all of %v", seen, wants)
	}
	for _, ig := range rep.Ignored {
		if ig.ID == "GO-9999-0004" {
			seen[ig.ID] = true
		}
	}
	if !seen["GO-9999-0004"] {
		t.Error("the Windows-only advisory is neither reported nor listed as ignored")
	}
	// Findings are ordered by severity, and Unknown stays apart from Low.
	if rep.Findings[0].Severity != "Critical" || rep.Summary.BySeverity["Unknown"] == 0 || rep.Summary.BySeverity["Low"] == 0 {
		t.Errorf("order/summary: %s %+v", rep.Findings[0].Severity, rep.Summary)
	}
}
