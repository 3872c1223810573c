package facts

import (
	"strings"
	"testing"
)

func TestVersionLess(t *testing.T) {
	for _, c := range [][2]string{
		{"1.26.9", "1.26.10"}, {"go1.26.8", "go1.27.3"}, {"v0.3.7", "v0.3.8"}, {"0.9", "0.10"},
		{"v1.2.0-rc1", "v1.2.0"}, {"1.2.0", "1.2.1-rc1"}, {"2.36-9+deb12u7", "2.36-9+deb12u10"}, {"1.0", "1.0.1"},
	} {
		if !VersionLess(c[0], c[1]) || VersionLess(c[1], c[0]) {
			t.Errorf("want %s < %s", c[0], c[1])
		}
	}
	if VersionLess("1.26.9", "1.26.9") {
		t.Error("a version is less than itself")
	}
}

func TestRemediationsGroupByPackage(t *testing.T) {
	tr, fa := true, false
	std := Package{Name: "stdlib", Version: "go1.26.8", Type: "go-module", PURL: "pkg:golang/stdlib@1.26.8"}
	text := Package{Name: "golang.org/x/text", Version: "v0.3.5", Type: "go-module", PURL: "pkg:golang/golang.org/x/text@v0.3.5"}
	fixed := func(id, sev, to string, p Package, r *bool) Finding {
		return Finding{ID: id, Severity: sev, Package: p, Reachable: r, Fix: Fix{State: "fixed", Versions: []string{to}, Suggested: to},
			Locations: []Location{{Path: "/usr/local/bin/app"}}}
	}
	fs := []Finding{
		fixed("GO-2026-0001", "Unknown", "1.26.9", std, &fa),
		fixed("GO-2026-0002", "Unknown", "1.26.10", std, &tr),
		fixed("GO-2026-0003", "High", "1.26.9", std, &fa),
		fixed("GO-2021-0113", "Unknown", "v0.3.7", text, &tr),
		fixed("GO-2022-1059", "Unknown", "v0.3.8", text, &tr),
		fixed("GO-2020-0015", "Unknown", "v0.3.3", text, &fa),
		{ID: "CVE-2023-0001", Severity: "Critical", Package: Package{Name: "libfoo", Version: "1.2", Type: "deb"}, Fix: Fix{State: "not-fixed"}},
	}
	rs := Remediations(fs)
	if len(rs) != 2 {
		t.Fatalf("%d remediations, want one per package with a fix: %+v", len(rs), rs)
	}
	// x/text: two reachable advisories, so first.
	if rs[0].Package.Name != text.Name || rs[0].Target != "v0.3.8" || rs[0].Reachable != 2 || len(rs[0].Advisories) != 3 ||
		rs[0].Action != "go get golang.org/x/text@v0.3.8" || rs[0].Advisories[2] != "GO-2020-0015" {
		t.Errorf("x/text: %+v", rs[0])
	}
	if rs[1].Kind != FixGoToolchain || rs[1].Target != "1.26.10" || len(rs[1].Advisories) != 3 || rs[1].Severity != "High" ||
		!strings.Contains(rs[1].Action, "toolchain go1.26.10") || rs[1].Advisories[0] != "GO-2026-0002" {
		t.Errorf("stdlib: %+v", rs[1])
	}
}
