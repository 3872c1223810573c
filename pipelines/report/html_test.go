package report

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sealyard/sealyard/pipelines/facts"
)

func htmlSummary() Summary {
	yes, no := true, false
	base, change := 105, 126
	return Summary{
		Image: "registry.example.com/app:v2", Digest: "sha256:" + strings.Repeat("d", 64),
		Pushed: "", Signed: "",
		Decision: &facts.Decision{Decision: "deny", Verdict: "fail", Mode: facts.Enforce,
			Violations: []facts.Violation{{Rule: "SY-VULN-001", Message: "upgrade golang.org/x/text from 0.3.5 to 0.3.7 (GO-2021-0113, reachable)"}, {Rule: "SY-SEC-003", Message: "gitleaks rule github-pat matched /etc/app.env line 2"}},
			New:        []facts.FindingRef{{ID: "GO-2021-0113", Package: "golang.org/x/text", Version: "v0.3.5"}},
			Counts:     facts.Counts{Findings: 3, Violations: 2, NewFindings: 1, KnownFindings: 2},
			Risk:       &facts.Risk{Formula: facts.RiskFormula, Score: 436, Band: "high", Vulnerabilities: 231, Secrets: 100, ExposurePercent: 132, Root: true, ExposedPorts: true, Baseline: &base, Change: &change},
			Digests:    facts.DecisionDigests{Policy: "sha256:" + strings.Repeat("a", 64), DB: "sha256:" + strings.Repeat("b", 64)},
		},
		Findings: &facts.Report{Findings: []facts.Finding{
			{ID: "GO-2021-0113", Severity: "Unknown", Reachable: &yes, Package: facts.Package{Name: "golang.org/x/text", Version: "v0.3.5", Type: "go-module"}, Fix: facts.Fix{State: "fixed", Versions: []string{"v0.3.7"}, Suggested: "v0.3.7"}},
			{ID: "GO-2022-1059", Severity: "Unknown", Reachable: &no, Package: facts.Package{Name: "golang.org/x/text", Version: "v0.3.5", Type: "go-module"}, Fix: facts.Fix{State: "fixed", Versions: []string{"v0.3.8"}}},
			{ID: "CVE-2024-0001", Severity: "High", Package: facts.Package{Name: "libc6", Version: "2.36", Type: "deb"}, Fix: facts.Fix{State: "not-fixed"}},
		}},
		Secrets: &facts.SecretsReport{RuleSet: "gitleaks v8.30.1 default rules", Scanned: facts.SecretCounts{Files: 12, Layers: 3}, Findings: []facts.SecretFinding{
			{Rule: "github-pat", File: "/etc/app.env", Line: 2, Fingerprint: "/etc/app.env:github-pat:2", Status: facts.SecretDeleted, Platform: "linux/amd64", Layer: &facts.SecretLayer{Index: 1}},
		}},
		Packages: map[string][]facts.SBOMPackage{"linux/amd64": {{Name: "golang.org/x/text", Version: "v0.3.5", Type: "go-module", Licenses: []string{"BSD-3-Clause"}}, {Name: "base-files", Version: "12.4", Type: "deb", Licenses: []string{}}}},
	}
}

// The page is self-contained: no script, nothing fetched.
func TestHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, htmlSummary()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
}

// TestHTMLInChromium loads the report from disk in headless Chromium
// (Debian's chromium, driven with chromedp), reads text back from the
// DOM, checks that the page asked the network for nothing, and takes a
// screenshot that must not be blank.
func TestHTMLInChromium(t *testing.T) {
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Fatal("chromium is not installed (make deps installs Debian's chromium)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	var b bytes.Buffer
	if err := HTML(&b, htmlSummary()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.Headless, chromedp.WindowSize(1280, 1600),
		chromedp.Flag("user-data-dir", filepath.Join(dir, "profile")))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.CSS("#decision"))); err != nil {
		t.Fatal(err)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	decision, risk, secrets, violations := text("#decision"), text("#risk"), text("#secrets"), text("#violations")
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart rect").length`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if decision != "denied" || !strings.Contains(title, "registry.example.com/app:v2 denied") {
		t.Errorf("decision %q, title %q", decision, title)
	}
	if !strings.HasPrefix(risk, "436 (high)") || !strings.Contains(risk, "+126") {
		t.Errorf("risk %q", risk)
	}
	if !strings.Contains(secrets, "/etc/app.env:github-pat:2") || !strings.Contains(secrets, "deleted") {
		t.Errorf("secrets %q", secrets)
	}
	if !strings.Contains(violations, "SY-VULN-001") || !strings.Contains(violations, "SY-SEC-003") {
		t.Errorf("violations %q", violations)
	}
	if bars != 6 { // two severities, three parts each
		t.Errorf("%d bars in the chart, want 6", bars)
	}
	mu.Lock()
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") {
			t.Errorf("the page fetched %s", u)
		}
	}
	mu.Unlock()
	// SEALYARD_REPORT_PNG=FILE keeps the screenshot for a human to look at.
	if p := os.Getenv("SEALYARD_REPORT_PNG"); p != "" {
		os.WriteFile(p, shot, 0o644)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		// FullScreenshot with a quality below 100 is a JPEG.
		t.Logf("screenshot is not a PNG (%v); checking it as an image of any format", err)
		img = nil
	}
	if img == nil {
		img = decodeAny(t, shot)
	}
	bounds := img.Bounds()
	colors := map[uint32]bool{}
	var ink, total int
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			total++
			if r < 0xe000 || g < 0xe000 || b < 0xe000 {
				ink++
			}
			colors[(r>>12)<<8|(g>>12)<<4|b>>12] = true
		}
	}
	if bounds.Dx() < 800 || ink*100 < total || len(colors) < 8 {
		t.Fatalf("the screenshot looks blank: %dx%d, %d of %d samples inked, %d colours", bounds.Dx(), bounds.Dy(), ink, total, len(colors))
	}
	t.Logf("screenshot %dx%d, %.1f%% inked, %d colours", bounds.Dx(), bounds.Dy(), float64(ink)*100/float64(total), len(colors))
}

func decodeAny(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the screenshot is not an image: %v", err)
	}
	return img
}
