package facts

import "testing"

// The formula on numbers worked by hand (README, "Risk score").
func TestRiskOf(t *testing.T) {
	yes, no := true, false
	a := Finding{ID: "A", Severity: "High", Reachable: &yes, Fix: Fix{State: "fixed", Versions: []string{"1.2"}}, EPSS: []EPSS{{Score: 0.5}}}
	b := Finding{ID: "B", Severity: "Unknown", Reachable: &no, Fix: Fix{State: "not-fixed"}}
	c := Finding{ID: "C", Severity: "Critical", Fix: Fix{State: "fixed"}, KEV: []KEV{{CVE: "CVE-1"}}}
	// a: 70 × 1 × 1 × 1 × 1.5 = 105; b: 40 × 0.2 × 0.8 = 6.4; c: 100 × 0.6 × 1 × 2 = 120.
	secrets := []SecretFinding{{Rule: "github-pat"}, {Rule: "aws-access-token", Allowed: "path testdata/**"}}
	r := RiskOf([]Finding{a, b, c}, secrets, ExposureFacts{Root: true, ExposedPorts: true})
	// (⌊231.4⌋ + 100) × 1.32 = 436.92 → 436.
	if r.Vulnerabilities != 231 || r.Secrets != 100 || r.ExposurePercent != 132 || r.Score != 436 || r.Band != "high" || r.Formula != RiskFormula {
		t.Fatalf("%+v", r)
	}
	r = r.WithBaseline([]Finding{a})
	if *r.Baseline != 105 || *r.Change != 126 {
		t.Fatalf("baseline %d, change %d", *r.Baseline, *r.Change)
	}
	if z := RiskOf(nil, nil, ExposureFacts{}); z.Score != 0 || z.Band != "none" || z.ExposurePercent != 100 {
		t.Fatalf("%+v", z)
	}
	for score, band := range map[int]string{1: "low", 49: "low", 50: "medium", 199: "medium", 200: "high", 499: "high", 500: "critical"} {
		if got := RiskBand(score); got != band {
			t.Errorf("score %d: band %s, want %s", score, got, band)
		}
	}
}
