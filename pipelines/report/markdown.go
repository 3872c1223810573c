package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// Summary is what the Markdown summary shows.
type Summary struct {
	// Image names the image (repository:tag or the source).
	Image string
	// Digest is the image digest.
	Digest string
	// Pushed is the pushed reference (repository@digest), empty when the
	// image was not pushed.
	Pushed string
	// Signed lists the signer when the image was signed.
	Signed string
	// Decision is the gate's decision.
	Decision *facts.Decision
	// Findings are the findings of every platform.
	Findings *facts.Report
	// Outputs names the files written, by kind.
	Outputs map[string]string
	// Unsafe names the weakening settings the run used.
	Unsafe []string
	// BaseUpdate says what updating the base image would clear.
	BaseUpdate *facts.BaseUpdate
	// Secrets is the secrets scan of every layer (nil when not scanned).
	Secrets *facts.SecretsReport
	// Packages are each platform's SBOM packages (the HTML report lists
	// them).
	Packages map[string][]facts.SBOMPackage
	// Attested are the predicate types attested to the image.
	Attested []string
}

// Markdown renders a job summary: the decision first, then what to fix.
func Markdown(s Summary) []byte {
	var b strings.Builder
	d := s.Decision
	icon, verdict := "✅", "allowed"
	if d != nil && !d.Allowed() {
		icon, verdict = "⛔", "denied"
	} else if d != nil && d.Verdict == "fail" {
		icon, verdict = "⚠️", "allowed in audit mode (the policies failed)"
	}
	fmt.Fprintf(&b, "## %s sealyard: %s %s\n\n", icon, code(s.Image), verdict)
	fmt.Fprintf(&b, "| | |\n| --- | --- |\n| Digest | %s |\n", code(s.Digest))
	if s.Pushed != "" {
		fmt.Fprintf(&b, "| Pushed | %s |\n", code(s.Pushed))
	} else {
		fmt.Fprintf(&b, "| Pushed | no |\n")
	}
	if s.Signed != "" {
		fmt.Fprintf(&b, "| Signed by | %s |\n", s.Signed)
	}
	if len(s.Unsafe) > 0 {
		var u []string
		for _, x := range s.Unsafe {
			u = append(u, code(x))
		}
		fmt.Fprintf(&b, "| ⚠️ Unsafe settings | %s |\n", strings.Join(u, ", "))
	}
	if d != nil {
		c := d.Counts
		fmt.Fprintf(&b, "| Findings | %d (%d violations, %d warnings, %d waived, %d removed by VEX) |\n", c.Findings, c.Violations, c.Warnings, c.SuppressedByException, c.SuppressedByVEX)
		fmt.Fprintf(&b, "| Policy | %s |\n| Database | %s |\n", code(d.Digests.Policy), code(d.Digests.DB))
	}
	if s.Findings != nil {
		var sev []string
		for _, name := range facts.Severities {
			if n := s.Findings.Summary.BySeverity[name]; n > 0 {
				sev = append(sev, fmt.Sprintf("%s %d", name, n))
			}
		}
		if len(sev) > 0 {
			fmt.Fprintf(&b, "| By severity | %s |\n", strings.Join(sev, ", "))
		}
	}
	if d != nil && d.Risk != nil {
		fmt.Fprintf(&b, "| Risk score | %s |\n", RiskText(d.Risk))
	}
	if d != nil && (d.Counts.NewFindings > 0 || d.Counts.KnownFindings > 0 || d.Counts.FixedFindings > 0) {
		fmt.Fprintf(&b, "| Against the baseline | %d new%s, %d fixed%s, %d known |\n", len(d.New), refTail(d.New), len(d.Fixed), refTail(d.Fixed), d.Counts.KnownFindings)
	}
	if d != nil && len(d.NewSecrets)+len(d.FixedSecrets) > 0 {
		fmt.Fprintf(&b, "| Credentials against the baseline | %d new (%s), %d gone (%s) |\n", len(d.NewSecrets), strings.Join(d.NewSecrets, ", "), len(d.FixedSecrets), strings.Join(d.FixedSecrets, ", "))
	}
	if r := s.Secrets; r != nil {
		fmt.Fprintf(&b, "| Secrets | %d found in %d files of %d layers (%d allowed) |\n", len(r.Findings), r.Scanned.Files, r.Scanned.Layers, len(r.Findings)-len(r.Denying()))
	}
	secretsTable(&b, s.Secrets)
	if s.Findings != nil {
		if rs := facts.Remediations(s.Findings.Findings); len(rs) > 0 {
			var app, base []facts.Remediation
			for _, r := range rs {
				if r.Base == "base" {
					base = append(base, r)
				} else {
					app = append(app, r)
				}
			}
			title := "Fixes, one line each"
			if base != nil {
				title = "Fix in your code"
			}
			remediationTable(&b, title, app)
			if base != nil {
				cleared := 0
				for _, r := range base {
					cleared += len(r.Advisories)
				}
				remediationTable(&b, fmt.Sprintf("Fix by updating the base image (clears %d advisories)", cleared), base)
			}
			if u := s.BaseUpdate; u != nil {
				fmt.Fprintf(&b, "\nUpdating the base image to %s clears %d of the %d findings in its layers%s.\n", code(u.Newer), u.Cleared, u.InBase, advisoryTail(u.Advisories))
			}
		}
	}
	if d != nil && len(d.Violations) > 0 {
		b.WriteString("\n### Policy violations\n\n")
		for _, v := range d.Violations {
			fmt.Fprintf(&b, "- **%s** %s\n", v.Rule, v.Message)
		}
	}
	if d != nil && len(d.Warnings) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>%d warnings</summary>\n\n", len(d.Warnings))
		for _, v := range d.Warnings {
			fmt.Fprintf(&b, "- **%s** %s\n", v.Rule, v.Message)
		}
		b.WriteString("\n</details>\n")
	}
	if d != nil && len(d.Exceptions) > 0 {
		b.WriteString("\n### Exceptions applied\n\n")
		for _, e := range d.Exceptions {
			fmt.Fprintf(&b, "- %s, owned by %s until %s: %s\n", e.Selector, e.Owner, e.Expires, e.Reason)
		}
	}
	if d != nil && len(d.VEX) > 0 {
		b.WriteString("\n### VEX statements applied\n\n")
		for _, v := range d.VEX {
			fmt.Fprintf(&b, "- %s: %s (%s), from %s\n", v.Vulnerability, v.Status, v.Justification, v.Document)
		}
	}
	if len(s.Outputs) > 0 {
		b.WriteString("\n### Reports\n\n")
		kinds := make([]string, 0, len(s.Outputs))
		for k := range s.Outputs {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			fmt.Fprintf(&b, "- %s: %s\n", k, code(s.Outputs[k]))
		}
	}
	return []byte(b.String())
}

// RiskText is a risk score in words: "436 (high): 231 vulnerability
// points, 100 for credentials, exposure ×1.32 (root, exposed ports); +126
// against the baseline".
func RiskText(r *facts.Risk) string {
	t := fmt.Sprintf("%d (%s): %d vulnerability points, %d for credentials", r.Score, r.Band, r.Vulnerabilities, r.Secrets)
	if r.ExposurePercent != 100 {
		var why []string
		if r.Root {
			why = append(why, "root")
		}
		if r.ExposedPorts {
			why = append(why, "exposed ports")
		}
		t += fmt.Sprintf(", exposure ×%d.%02d (%s)", r.ExposurePercent/100, r.ExposurePercent%100, strings.Join(why, ", "))
	}
	if r.Change != nil {
		t += fmt.Sprintf("; %+d vulnerability points against the baseline (%d)", *r.Change, *r.Baseline)
	}
	return t
}

// refTail lists up to ten advisories as " (ID package, …)".
func refTail(refs []facts.FindingRef) string {
	if len(refs) == 0 {
		return ""
	}
	var parts []string
	for i, r := range refs {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(refs)-10))
			break
		}
		parts = append(parts, r.ID+" "+r.Package)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// secretsTable lists credentials by place and fingerprint, never value.
func secretsTable(b *strings.Builder, r *facts.SecretsReport) {
	if r == nil || len(r.Findings) == 0 {
		return
	}
	b.WriteString("\n### Credentials in the image (rotate them)\n\n| Rule | File | Line | Layer | Status | Fingerprint | Allowed |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, f := range r.Findings {
		layer := "-"
		if f.Layer != nil {
			layer = fmt.Sprintf("%d", f.Layer.Index)
			if f.Platform != "" {
				layer += " (" + f.Platform + ")"
			}
		}
		allowed := "-"
		if f.Allowed != "" {
			allowed = f.Allowed
		}
		fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %s |\n", f.Rule, code(f.File), f.Line, layer, f.Status, code(f.Fingerprint), allowed)
	}
}

func remediationTable(b *strings.Builder, title string, rs []facts.Remediation) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### %s\n\n", title)
	b.WriteString("| fix | clears | reachable | highest severity | layers | advisories |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rs {
		fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s |\n", actionCell(r), len(r.Advisories), r.Reachable, r.Severity, layerList(r.Layers), advisoryList(r.Advisories))
	}
}

func layerList(ls []int) string {
	if len(ls) == 0 {
		return "-"
	}
	var s []string
	for _, l := range ls {
		s = append(s, fmt.Sprint(l))
	}
	return strings.Join(s, ", ")
}

// actionCell renders a remediation's action with what it changes.
func actionCell(r facts.Remediation) string {
	what := fmt.Sprintf("%s %s → %s", r.Package.Name, r.Package.Version, r.Target)
	if r.Kind == facts.FixGoModule {
		return code(r.Action) + " (" + what + ")"
	}
	return strings.ReplaceAll(r.Action, "|", "/") + " (" + what + ")"
}

func advisoryTail(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return " (" + advisoryList(ids) + ")"
}

// advisoryList names up to eight advisories.
func advisoryList(ids []string) string {
	const shown = 8
	if len(ids) <= shown {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:shown], ", "), len(ids)-shown)
}

func code(s string) string {
	if s == "" {
		return "-"
	}
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}
