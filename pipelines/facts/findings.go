package facts

import (
	"fmt"
	"strings"
)

// FindingsSchema identifies the findings document format.
const FindingsSchema = "sealyard.dev/findings/v1"

// Report is the findings document (sealyard scan -o json): what the scan
// stage produces and the gate, reports and attestations read.
type Report struct {
	SchemaVersion string    `json:"schemaVersion"`
	Image         *Image    `json:"image,omitempty"`
	DB            DB        `json:"db"`
	Findings      []Finding `json:"findings"`
	Ignored       []Ignored `json:"ignored,omitempty"`
	Summary       Summary   `json:"summary"`
}

// Image names what was scanned.
type Image struct {
	Name     string `json:"name"`
	Digest   string `json:"digest,omitempty"`
	Platform string `json:"platform,omitempty"`
}

// DB identifies the vulnerability data the findings come from.
type DB struct {
	SchemaVersion string   `json:"schemaVersion"`
	Built         string   `json:"built"`
	Digest        string   `json:"digest"`
	Providers     []string `json:"providers"`
	// Artifact is REPOSITORY@DIGEST of the signed OCI artifact the
	// database was pulled from (sealyard db pull), when it was.
	Artifact string `json:"artifact,omitempty"`
}

// Package is the affected package.
type Package struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Type     string `json:"type"`
	PURL     string `json:"purl,omitempty"`
	Language string `json:"language,omitempty"`
}

// Location is where in the image the package was found.
type Location struct {
	Path string `json:"path"`
	// LayerID is the diff ID (uncompressed digest) of the layer that
	// brought the file; LayerIndex its place in the image (0 is the
	// bottom layer).
	LayerID    string `json:"layerID,omitempty"`
	LayerIndex *int   `json:"layerIndex,omitempty"`
	// Base is true when the layer comes from the base image, false when
	// it was added on top, and absent when the base is not known.
	Base *bool `json:"base,omitempty"`
}

// Fix says whether and where the vulnerability is fixed.
type Fix struct {
	// State is fixed, not-fixed, wont-fix or unknown.
	State    string   `json:"state"`
	Versions []string `json:"versions"`
	// Suggested is the lowest fixed version above the installed one: the
	// upgrade to make.
	Suggested string `json:"suggested,omitempty"`
}

// CVSS is one CVSS assessment.
type CVSS struct {
	Source    string  `json:"source,omitempty"`
	Version   string  `json:"version"`
	Vector    string  `json:"vector"`
	BaseScore float64 `json:"baseScore"`
}

// KEV is an entry in CISA's Known Exploited Vulnerabilities catalog.
type KEV struct {
	CVE                        string `json:"cve"`
	DateAdded                  string `json:"dateAdded,omitempty"`
	DueDate                    string `json:"dueDate,omitempty"`
	KnownRansomwareCampaignUse string `json:"knownRansomwareCampaignUse,omitempty"`
}

// EPSS is the exploit prediction score of a CVE.
type EPSS struct {
	CVE        string  `json:"cve"`
	Score      float64 `json:"score"`
	Percentile float64 `json:"percentile"`
	Date       string  `json:"date,omitempty"`
}

// GoImport is a vulnerable package of a Go module and its vulnerable symbols.
type GoImport struct {
	Path    string   `json:"path"`
	Symbols []string `json:"symbols,omitempty"`
	GOOS    []string `json:"goos,omitempty"`
	GOARCH  []string `json:"goarch,omitempty"`
}

// Finding is one vulnerability in one package.
type Finding struct {
	ID          string     `json:"id"`
	Aliases     []string   `json:"aliases"`
	Namespace   string     `json:"namespace,omitempty"`
	DataSource  string     `json:"dataSource,omitempty"`
	Description string     `json:"description,omitempty"`
	URLs        []string   `json:"urls,omitempty"`
	Severity    string     `json:"severity"`
	CVSS        []CVSS     `json:"cvss,omitempty"`
	Fix         Fix        `json:"fix"`
	KEV         []KEV      `json:"kev,omitempty"`
	EPSS        []EPSS     `json:"epss,omitempty"`
	Package     Package    `json:"package"`
	Locations   []Location `json:"locations"`
	// Reachable is true when the binary links a vulnerable symbol, false when
	// it links none, and null when that cannot be known.
	Reachable *bool `json:"reachable"`
	// Symbols are the vulnerable symbols found in the binary.
	Symbols []string `json:"symbols,omitempty"`
	// GoImports are the packages and symbols the advisory names (Go only).
	GoImports []GoImport `json:"goImports,omitempty"`
	// MatchType says how grype matched (exact-direct-match, ...).
	MatchType string `json:"matchType,omitempty"`
	// Status is new or known when a baseline was compared (see the gate).
	Status string `json:"status,omitempty"`
	// Platform is the image platform the finding is in, when the gate
	// merges findings of several platforms.
	Platform string `json:"platform,omitempty"`
}

// Ignored is a finding an ignore rule or setting removed, with why.
type Ignored struct {
	Finding
	Reasons []string `json:"reasons"`
}

// Summary counts findings.
type Summary struct {
	Total      int            `json:"total"`
	BySeverity map[string]int `json:"bySeverity"`
	Fixable    int            `json:"fixable"`
	Reachable  int            `json:"reachable"`
	KEV        int            `json:"kev"`
	Ignored    int            `json:"ignored"`
}

// Severities in descending order; Unknown is kept apart from Low.
var Severities = []string{"Critical", "High", "Medium", "Low", "Negligible", "Unknown"}

// ParseSeverity normalises a severity name (any case). Valid: critical,
// high, medium, low, negligible, unknown.
func ParseSeverity(s string) (string, error) {
	for _, sev := range Severities {
		if strings.EqualFold(s, sev) {
			return sev, nil
		}
	}
	return "", fmt.Errorf("unknown severity %q (want one of critical, high, medium, low, negligible, unknown)", s)
}

// SeverityRank orders severities as grype does: Unknown lowest, then
// Negligible, Low, Medium, High, Critical.
func SeverityRank(s string) int {
	for i, sev := range Severities {
		if strings.EqualFold(s, sev) {
			return len(Severities) - 1 - i
		}
	}
	return 0
}

// AtOrAbove reports whether severity s is at or above threshold t, with
// grype's ordering (Unknown is below Negligible).
func AtOrAbove(s, t string) bool {
	return SeverityRank(s) >= SeverityRank(t)
}

// Summarize counts findings.
func Summarize(fs []Finding, ignored int) Summary {
	s := Summary{BySeverity: map[string]int{}, Ignored: ignored}
	for _, sev := range Severities {
		s.BySeverity[sev] = 0
	}
	for _, f := range fs {
		s.Total++
		s.BySeverity[f.Severity]++
		if f.Fix.State == "fixed" {
			s.Fixable++
		}
		if f.Reachable != nil && *f.Reachable {
			s.Reachable++
		}
		if len(f.KEV) > 0 {
			s.KEV++
		}
	}
	return s
}
