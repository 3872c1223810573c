package report

import (
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// HTML writes the report as one self-contained page: no script, no
// external asset (its Content-Security-Policy forbids both), styles
// inline and the chart an inline SVG, so it renders the same from a CI
// artifact, an email or a disk. It shows the decision, the fixes, the
// findings by severity and reachability, the risk score and its change,
// credentials by fingerprint, the signature and attestations, and each
// platform's packages.
func HTML(w io.Writer, s Summary) error {
	return page.Execute(w, htmlData(s))
}

type chartBar struct {
	Severity                      string
	Reachable, Unknown, Unreached int
	X, WReach, WUnknown, WUnreach int
	Y                             int
	Total                         int
}

type platformPackages struct {
	Platform string
	Packages []facts.SBOMPackage
}

type htmlView struct {
	S            Summary
	Verdict      string
	VerdictClass string
	Risk         string
	Fixes        []facts.Remediation
	Chart        []chartBar
	ChartHeight  int
	Platforms    []platformPackages
	Attested     []string
}

func htmlData(s Summary) htmlView {
	v := htmlView{S: s, Verdict: "allowed", VerdictClass: "allow"}
	if d := s.Decision; d != nil && !d.Allowed() {
		v.Verdict, v.VerdictClass = "denied", "deny"
	} else if d != nil && d.Verdict == "fail" {
		v.Verdict, v.VerdictClass = "allowed in audit mode (the policies failed)", "audit"
	}
	if d := s.Decision; d != nil && d.Risk != nil {
		v.Risk = RiskText(d.Risk)
	}
	if s.Findings != nil {
		v.Fixes = facts.Remediations(s.Findings.Findings)
		counts := map[string]*chartBar{}
		for _, f := range s.Findings.Findings {
			b := counts[f.Severity]
			if b == nil {
				b = &chartBar{Severity: f.Severity}
				counts[f.Severity] = b
			}
			switch {
			case f.Reachable == nil:
				b.Unknown++
			case *f.Reachable:
				b.Reachable++
			default:
				b.Unreached++
			}
		}
		max := 0
		for _, b := range counts {
			if t := b.Reachable + b.Unknown + b.Unreached; t > max {
				max = t
			}
		}
		y := 0
		for _, sev := range facts.Severities {
			b := counts[sev]
			if b == nil {
				continue
			}
			scale := func(n int) int { return n * 360 / max }
			b.Total = b.Reachable + b.Unknown + b.Unreached
			b.X, b.Y = 110, y
			b.WReach, b.WUnknown, b.WUnreach = scale(b.Reachable), scale(b.Unknown), scale(b.Unreached)
			v.Chart = append(v.Chart, *b)
			y += 30
		}
		v.ChartHeight = y + 10
	}
	for p, pkgs := range s.Packages {
		sorted := append([]facts.SBOMPackage(nil), pkgs...)
		sort.Slice(sorted, func(i, j int) bool {
			if sorted[i].Name != sorted[j].Name {
				return sorted[i].Name < sorted[j].Name
			}
			return sorted[i].Version < sorted[j].Version
		})
		v.Platforms = append(v.Platforms, platformPackages{p, sorted})
	}
	sort.Slice(v.Platforms, func(i, j int) bool { return v.Platforms[i].Platform < v.Platforms[j].Platform })
	v.Attested = append(v.Attested, s.Attested...)
	sort.Strings(v.Attested)
	return v
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	"reach": func(f facts.Finding) string {
		switch {
		case f.Reachable == nil:
			return "unknown"
		case *f.Reachable:
			return "reachable"
		}
		return "not reachable"
	},
	"plural": func(n int, word string) string {
		if n == 1 {
			return fmt.Sprintf("1 %s", word)
		}
		return fmt.Sprintf("%d %ss", n, word)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sealyard: {{.S.Image}} {{.Verdict}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d2330;background:#fff;max-width:72rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d6dae3;padding-bottom:.3rem}
.verdict{display:inline-block;padding:.2rem .7rem;border-radius:.4rem;color:#fff;font-weight:600}
.allow{background:#1a7f37}.deny{background:#cf222e}.audit{background:#9a6700}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d6dae3;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f3f5f9}code{font-family:ui-monospace,monospace;font-size:.85rem}
.muted{color:#5b6475}.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
</style>
</head>
<body>
<h1>sealyard: <code>{{.S.Image}}</code> <span id="decision" class="verdict {{.VerdictClass}}">{{.Verdict}}</span></h1>
<table id="facts">
<tr><th>Digest</th><td><code>{{.S.Digest}}</code></td></tr>
<tr><th>Pushed</th><td>{{if .S.Pushed}}<code>{{.S.Pushed}}</code>{{else}}no{{end}}</td></tr>
<tr><th>Signature</th><td id="signature">{{if .S.Signed}}signed by {{.S.Signed}}{{else}}not signed{{end}}</td></tr>
<tr><th>Attestations</th><td id="attestations">{{if .Attested}}{{join .Attested ", "}}{{else}}none{{end}}</td></tr>
{{with .S.Decision}}<tr><th>Findings</th><td>{{.Counts.Findings}} ({{.Counts.Violations}} violations, {{.Counts.Warnings}} warnings, {{.Counts.SuppressedByException}} waived, {{.Counts.SuppressedByVEX}} removed by VEX)</td></tr>
<tr><th>Policy, database</th><td><code>{{.Digests.Policy}}</code>, <code>{{.Digests.DB}}</code></td></tr>{{end}}
{{if .Risk}}<tr><th>Risk score</th><td id="risk">{{.Risk}}</td></tr>{{end}}
{{with .S.Decision}}{{if or .New .Fixed}}<tr><th>Against the baseline</th><td id="baseline">{{plural (len .New) "new finding"}}, {{plural (len .Fixed) "fixed finding"}}, {{.Counts.KnownFindings}} known</td></tr>{{end}}{{end}}
{{if .S.Unsafe}}<tr><th>Unsafe settings</th><td>{{join .S.Unsafe ", "}}</td></tr>{{end}}
</table>
{{with .S.Decision}}{{if .Violations}}<h2>Policy violations</h2>
<ul id="violations">{{range .Violations}}<li><strong>{{.Rule}}</strong> {{.Message}}</li>{{end}}</ul>{{end}}
{{if .Warnings}}<h2>Warnings</h2><ul>{{range .Warnings}}<li><strong>{{.Rule}}</strong> {{.Message}}</li>{{end}}</ul>{{end}}{{end}}
{{if .Fixes}}<h2>Fixes, one line each</h2>
<table id="fixes"><tr><th>Package</th><th>Installed</th><th>Upgrade to</th><th>Action</th><th>Clears</th></tr>
{{range .Fixes}}<tr><td>{{.Package.Name}}</td><td>{{.Package.Version}}</td><td>{{.Target}}</td><td><code>{{.Action}}</code></td><td>{{join .Advisories ", "}} ({{.Reachable}} reachable)</td></tr>{{end}}</table>{{end}}
{{if .Chart}}<h2>Findings by severity and reachability</h2>
<p class="legend"><span style="background:#cf222e"></span>reachable<span style="background:#d4a72c"></span>unknown<span style="background:#8c959f"></span>not reachable</p>
<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="1000" height="{{.ChartHeight}}" role="img" aria-label="findings by severity and reachability">
{{range .Chart}}<text x="0" y="{{add .Y 17}}" font-size="13" fill="#1d2330">{{.Severity}}</text>
<rect x="{{.X}}" y="{{.Y}}" width="{{.WReach}}" height="22" fill="#cf222e"/><rect x="{{add .X .WReach}}" y="{{.Y}}" width="{{.WUnknown}}" height="22" fill="#d4a72c"/><rect x="{{add (add .X .WReach) .WUnknown}}" y="{{.Y}}" width="{{.WUnreach}}" height="22" fill="#8c959f"/>
<text x="{{add (add (add .X .WReach) (add .WUnknown .WUnreach)) 8}}" y="{{add .Y 17}}" font-size="13" fill="#1d2330">{{.Total}} ({{.Reachable}} reachable, {{.Unknown}} unknown, {{.Unreached}} not reachable)</text>
{{end}}</svg>{{end}}
{{with .S.Findings}}{{if .Findings}}<h2>Findings</h2>
<table id="findings"><tr><th>Advisory</th><th>Severity</th><th>Package</th><th>Installed</th><th>Fixed in</th><th>Reachability</th><th>Platform</th></tr>
{{range .Findings}}<tr><td>{{.ID}}</td><td>{{.Severity}}</td><td>{{.Package.Name}}</td><td>{{.Package.Version}}</td><td>{{join .Fix.Versions ", "}}</td><td>{{reach .}}</td><td>{{.Platform}}</td></tr>{{end}}</table>{{end}}{{end}}
{{with .S.Secrets}}<h2>Credentials in the image</h2>
<p>{{plural (len .Findings) "credential"}} in {{.Scanned.Files}} files of {{.Scanned.Layers}} layers ({{.RuleSet}}). Values are never shown: the fingerprint names the place.</p>
{{if .Findings}}<table id="secrets"><tr><th>Rule</th><th>File</th><th>Line</th><th>Layer</th><th>Status</th><th>Fingerprint</th><th>Allowed</th></tr>
{{range .Findings}}<tr><td>{{.Rule}}</td><td><code>{{.File}}</code></td><td>{{.Line}}</td><td>{{with .Layer}}{{.Index}}{{end}} {{.Platform}}</td><td>{{.Status}}</td><td><code>{{.Fingerprint}}</code></td><td>{{.Allowed}}</td></tr>{{end}}</table>{{end}}{{end}}
{{range .Platforms}}<h2>Packages: {{.Platform}}</h2>
<table class="packages"><tr><th>Name</th><th>Version</th><th>Type</th><th>Licenses</th></tr>
{{range .Packages}}<tr><td>{{.Name}}</td><td>{{.Version}}</td><td>{{.Type}}</td><td>{{join .Licenses ", "}}</td></tr>{{end}}</table>{{end}}
<p class="muted">Written by sealyard. Every figure here comes from the files beside it: decision.json, findings.json, secrets.json and the SBOMs.</p>
</body>
</html>
`))
