package cmdline

import (
	"strings"
	"testing"
)

// FuzzParseCIEnv: any file is read or refused, never panics, and keeps
// only the variables that describe a run: never a token.
func FuzzParseCIEnv(f *testing.F) {
	for _, s := range []string{"GITHUB_ACTIONS=true\nGITHUB_SHA=abc\n", "GITHUB_TOKEN=x\n", "export CI_JOB_TOKEN=\"y\"\n", "# c\n\n", "=x\n", "A\n", "SOURCE_DATE_EPOCH=1\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ci, err := ParseCIEnv(s)
		if err != nil {
			return
		}
		for k := range ci.Env() {
			if !ciVars[k] || strings.Contains(k, "TOKEN") {
				t.Fatalf("kept %s", k)
			}
		}
	})
}
