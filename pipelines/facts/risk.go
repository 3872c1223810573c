package facts

import "strings"

// RiskFormula names the risk score's formula; a change of formula is a
// new name.
const RiskFormula = "sealyard-risk/v1"

// Risk is a deterministic score of an image's exposure, from its findings,
// its credentials and how it runs. The formula (README, "Risk score"):
//
//	finding points  = severity × reachability × fix × KEV × (1 + EPSS)
//	  severity      critical 100, high 70, medium 40, unknown 40, low 10, negligible 1
//	  reachability  reachable 1, unknown 0.6, not reachable 0.2
//	  fix           a fix exists 1, none 0.8
//	  KEV           in CISA's catalog 2, else 1
//	  EPSS          the highest EPSS probability of the finding's CVEs (0 to 1)
//	secret points   100 per credential not allow-listed (any layer, any status)
//	exposure        ×1.2 when a platform image runs as root, ×1.1 when it exposes ports
//	score           (Σ finding points + Σ secret points) × exposure, rounded down
//
// Integer arithmetic throughout (EPSS in thousandths), so the same facts
// give the same score on every machine. Bands: 0 none, below 50 low,
// below 200 medium, below 500 high, else critical.
type Risk struct {
	Formula string `json:"formula"`
	Score   int    `json:"score"`
	Band    string `json:"band"`
	// Vulnerabilities and Secrets are the points before exposure;
	// ExposurePercent the multiplier (100 = none).
	Vulnerabilities int  `json:"vulnerabilities"`
	Secrets         int  `json:"secrets"`
	ExposurePercent int  `json:"exposure_percent"`
	Root            bool `json:"root"`
	ExposedPorts    bool `json:"exposed_ports"`
	// Baseline is the vulnerability points of the baseline's findings and
	// Change this image's minus those (set with a baseline that carries
	// findings).
	Baseline *int `json:"baseline,omitempty"`
	Change   *int `json:"change,omitempty"`
}

var severityPoints = map[string]int64{"critical": 100, "high": 70, "medium": 40, "unknown": 40, "low": 10, "negligible": 1}

// findingMilli is a finding's points in millionths (severity × reach% ×
// fix% × KEV × (1000 + EPSS‰)), summed before the one division.
func findingMilli(f Finding) int64 {
	sev, ok := severityPoints[strings.ToLower(f.Severity)]
	if !ok {
		sev = severityPoints["unknown"]
	}
	reach := int64(60)
	if f.Reachable != nil {
		reach = 20
		if *f.Reachable {
			reach = 100
		}
	}
	fix := int64(80)
	if f.Fix.State == "fixed" || len(f.Fix.Versions) > 0 {
		fix = 100
	}
	kev := int64(1)
	if len(f.KEV) > 0 {
		kev = 2
	}
	var epss int64
	for _, e := range f.EPSS {
		if p := int64(e.Score * 1000); p > epss {
			epss = p
		}
	}
	return sev * reach * fix * kev * (1000 + epss)
}

// vulnPoints sums the findings' points.
func vulnPoints(fs []Finding) int {
	var milli int64
	for _, f := range fs {
		milli += findingMilli(f)
	}
	return int(milli / (100 * 100 * 1000))
}

// ExposureFacts are how the image runs, as the risk score weighs it.
type ExposureFacts struct {
	Root, ExposedPorts bool
}

// RiskOf scores the findings (after VEX), the credentials no allow-list
// accepts and the exposure.
func RiskOf(fs []Finding, secrets []SecretFinding, x ExposureFacts) Risk {
	r := Risk{Formula: RiskFormula, Vulnerabilities: vulnPoints(fs), ExposurePercent: 100, Root: x.Root, ExposedPorts: x.ExposedPorts}
	for _, s := range secrets {
		if s.Allowed == "" {
			r.Secrets += 100
		}
	}
	if x.Root {
		r.ExposurePercent = r.ExposurePercent * 120 / 100
	}
	if x.ExposedPorts {
		r.ExposurePercent = r.ExposurePercent * 110 / 100
	}
	r.Score = (r.Vulnerabilities + r.Secrets) * r.ExposurePercent / 100
	r.Band = RiskBand(r.Score)
	return r
}

// WithBaseline records the change against a baseline's findings.
func (r Risk) WithBaseline(fs []Finding) Risk {
	b := vulnPoints(fs)
	c := r.Vulnerabilities - b
	r.Baseline, r.Change = &b, &c
	return r
}

// RiskBand names a score's band.
func RiskBand(score int) string {
	switch {
	case score <= 0:
		return "none"
	case score < 50:
		return "low"
	case score < 200:
		return "medium"
	case score < 500:
		return "high"
	}
	return "critical"
}
