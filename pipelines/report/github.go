package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// GitHubAnnotations writes workflow commands that annotate the run:
// ::error for violations, ::warning for warnings.
func GitHubAnnotations(w io.Writer, d *facts.Decision) error {
	for _, v := range d.Violations {
		if _, err := fmt.Fprintf(w, "::error title=%s::%s\n", escapeProperty(v.Rule+" "+v.Title), escapeData(v.Message)); err != nil {
			return err
		}
	}
	for _, v := range d.Warnings {
		if _, err := fmt.Fprintf(w, "::warning title=%s::%s\n", escapeProperty(v.Rule+" "+v.Title), escapeData(v.Message)); err != nil {
			return err
		}
	}
	return nil
}

// GitHubOutputs appends step outputs (NAME=VALUE lines, or the heredoc
// form for values with newlines) to the $GITHUB_OUTPUT file.
func GitHubOutputs(w io.Writer, outputs map[string]string, keys []string) error {
	for _, k := range keys {
		v := outputs[k]
		if strings.ContainsAny(v, "\r\n") {
			if _, err := fmt.Fprintf(w, "%s<<SEALYARD_EOF\n%s\nSEALYARD_EOF\n", k, v); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(w, "%s=%s\n", k, v); err != nil {
			return err
		}
	}
	return nil
}

// escapeData escapes a workflow command's message, as the Actions toolkit does.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command property.
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(strings.TrimSpace(s))
}
