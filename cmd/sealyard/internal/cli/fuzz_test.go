package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzConfigFile: any sealyard.yaml is applied or refused (naming the
// key), never panics, and never turns on a weakening setting without
// --allow-unsafe-settings.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"to: ghcr.io/acme/app:main\nplatform: linux/amd64,linux/arm64\ngate-mode: enforce\nexceptions: [a.yaml]\n",
		"gate-mode: audit\n", "skip-tlog-unsafe: true\n", "allow-http-registry: [r.lan]\n", "to:\n  nested: x\n",
		"tag: [a, [b]]\n", "unknown: 1\n", "db-max-age: soon\n", "a: &a [*a]\n", "", "---\n---\n", "to: [\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, content string) {
		p := filepath.Join(t.TempDir(), "sealyard.yaml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		s := &streams{getenv: func(string) string { return "" }}
		cmd := newRunCmd(s)
		if err := applySettings(cmd, s, p, true); err != nil {
			return
		}
		for flag, unsafe := range unsafeSettings {
			fl := cmd.Flags().Lookup(flag)
			if fl != nil && fl.Changed && unsafe(yamlText(fl.Value.String())) && fl.Value.String() != "[]" {
				t.Fatalf("%q turned on %s=%s from a file", content, flag, fl.Value.String())
			}
		}
	})
}
