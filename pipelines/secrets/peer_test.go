package secrets

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sealyard/sealyard/internal/testutil/peers"
	"github.com/sealyard/sealyard/internal/testutil/plant"
)

// The stock gitleaks CLI, built from the same module, finds the same
// credentials in the same tree: the same fingerprints, one for one. The
// tree mixes rules, a binary, a line allowed by a gitleaks:allow comment
// and files without credentials.
func TestStockGitleaksAgrees(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "src")
	files := map[string]string{
		"config/app.env":     "# app\nGITHUB_TOKEN=" + plant.GitHubToken(t) + "\nAWS_ACCESS_KEY_ID=" + plant.AWSKeyID(t) + "\n",
		"deploy/tls.key":     plant.PrivateKeyPEM(t),
		"docs/notes.md":      "nothing secret here\n",
		"main.go":            "package main\n\nvar token = \"" + plant.GitHubToken(t) + "\" // gitleaks:allow\n",
		"scripts/release.sh": "#!/bin/sh\nexport GH=" + plant.GitHubToken(t) + "\n",
		"bin/tool":           "\x7fELF\x02\x01\x01" + strings.Repeat("\x00", 300) + plant.GitHubToken(t),
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "gitleaks.json")
	cmd := exec.Command(peers.Gitleaks.Path(t), "dir", dir, "--no-banner", "--exit-code", "0", "-r", out, "--log-level", "error")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gitleaks: %v\n%s", err, b)
	}
	var stock []struct{ Fingerprint string }
	if err := json.Unmarshal(mustReadFile(t, out), &stock); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range stock {
		want = append(want, f.Fingerprint)
	}
	r, err := ScanPaths(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Fingerprint)
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") || len(got) != 4 {
		t.Fatalf("sealyard found\n%s\nstock gitleaks found\n%s\n(want 4 each)", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
