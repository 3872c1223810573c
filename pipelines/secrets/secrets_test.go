package secrets

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Credentials are made per run: none is written in the repository, and a
// finding can only come from the rule, not from a value the test knows
// by heart.
func randomString(t *testing.T, alphabet string, n int) string {
	t.Helper()
	var b strings.Builder
	for range n {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func githubToken(t *testing.T) string { return "ghp_" + randomString(t, alnum, 36) }

func awsKeyID(t *testing.T) string {
	return "AKIA" + randomString(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
}

func privateKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// mustNotContain fails when any planted value, or a recognisable part of
// one, appears in b.
func mustNotContain(t *testing.T, what string, b []byte, planted ...string) {
	t.Helper()
	for _, p := range planted {
		for _, part := range []string{p, p[len(p)/2:], strings.TrimSpace(strings.Split(p, "\n")[min(2, len(strings.Split(p, "\n"))-1)])} {
			if len(part) >= 12 && bytes.Contains(b, []byte(part)) {
				t.Fatalf("%s holds a planted secret (or part of one)", what)
			}
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScanPathsFindsPlantedSecrets(t *testing.T) {
	dir := t.TempDir()
	gh, aws, key := githubToken(t), awsKeyID(t), privateKeyPEM(t)
	write(t, filepath.Join(dir, "config", "app.env"), "# settings\nDEBUG=false\nGITHUB_TOKEN="+gh+"\n")
	write(t, filepath.Join(dir, "deploy", "id_rsa"), key)
	write(t, filepath.Join(dir, "testdata", "fixture.env"), "AWS_ACCESS_KEY_ID="+aws+"\n")
	write(t, filepath.Join(dir, ".git", "config"), "token = "+githubToken(t)+"\n")
	write(t, filepath.Join(dir, "README.md"), "nothing to see here\n")
	if err := os.Symlink("/etc/shadow", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	r, err := ScanPaths(context.Background(), []string{dir}, Options{Allow: AllowList{Paths: []string{"**/testdata/**"}}})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		rule, file string
		line       int
		allowed    bool
	}
	wants := []want{
		{"github-pat", filepath.ToSlash(filepath.Join(dir, "config", "app.env")), 3, false},
		{"private-key", filepath.ToSlash(filepath.Join(dir, "deploy", "id_rsa")), 1, false},
		{"aws-access-token", filepath.ToSlash(filepath.Join(dir, "testdata", "fixture.env")), 1, true},
	}
	if len(r.Findings) != len(wants) {
		t.Fatalf("%d findings, want %d: %+v", len(r.Findings), len(wants), r.Findings)
	}
	for _, w := range wants {
		var got *Finding
		for i := range r.Findings {
			if r.Findings[i].File == w.file {
				got = &r.Findings[i]
			}
		}
		if got == nil {
			t.Fatalf("no finding in %s: %+v", w.file, r.Findings)
		}
		if got.Rule != w.rule || got.Line != w.line || (got.Allowed != "") != w.allowed || got.Status != Present {
			t.Errorf("finding %+v, want rule %s line %d allowed %v", *got, w.rule, w.line, w.allowed)
		}
		if fp := w.file + ":" + w.rule + ":" + itoa(w.line); got.Fingerprint != fp {
			t.Errorf("fingerprint %q, want %q", got.Fingerprint, fp)
		}
	}
	if d := r.Denying(); len(d) != 2 {
		t.Errorf("%d denying findings, want 2 (the allowed one does not deny)", len(d))
	}
	if r.Scanned.Skipped != 1 {
		t.Errorf("skipped %d, want 1 (the symbolic link)", r.Scanned.Skipped)
	}
	js, _ := json.Marshal(r)
	mustNotContain(t, "the report", js, gh, aws, key)
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestScanPathsErrors(t *testing.T) {
	_, err := ScanPaths(context.Background(), []string{filepath.Join(t.TempDir(), "missing")}, Options{})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a missing path: %v", err)
	}
}

type entry struct {
	name, body string
	typ        byte
}

func layer(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: typ, Size: int64(len(e.body))}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return buf.Bytes()
}

func imageOf(t *testing.T, layers ...[]byte) v1.Image {
	t.Helper()
	img := empty.Image
	for _, b := range layers {
		l, err := tarball.LayerFromReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestScanImageEveryLayer plants credentials that the final file system
// no longer shows: deleted by a whiteout, hidden by an opaque directory,
// overwritten by a later layer, and one in a directory a later layer
// replaced with a file. Each is found, in its layer, with its status.
func TestScanImageEveryLayer(t *testing.T) {
	present, deleted, shadowed, opaque, replaced := githubToken(t), awsKeyID(t), githubToken(t), privateKeyPEM(t), githubToken(t)
	img := imageOf(t,
		layer(t,
			entry{name: "etc/app/", typ: tar.TypeDir},
			entry{name: "etc/app/creds.env", body: "TOKEN=" + present + "\n"},
			entry{name: "tmp/build.env", body: "\n\nAWS_ACCESS_KEY_ID=" + deleted + "\n"},
			entry{name: "srv/key.env", body: "TOKEN=" + shadowed + "\n"},
			entry{name: "opt/cfg/key.pem", body: opaque},
			entry{name: "var/lib/app/token", body: "TOKEN=" + replaced + "\n"},
		),
		layer(t,
			entry{name: "tmp/.wh.build.env"},
			entry{name: "srv/key.env", body: "TOKEN=from-the-environment\n"},
		),
		layer(t,
			entry{name: "opt/cfg/.wh..wh..opq"},
			entry{name: "var/lib/app", body: "now a file\n"},
		),
	)
	r, err := ScanImage(context.Background(), img, "test-image", ImageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		rule   string
		line   int
		status Status
	}{
		"/etc/app/creds.env": {"github-pat", 1, Present},
		"/tmp/build.env":     {"aws-access-token", 3, Deleted},
		"/srv/key.env":       {"github-pat", 1, Shadowed},
		"/opt/cfg/key.pem":   {"private-key", 1, Deleted},
		"/var/lib/app/token": {"github-pat", 1, Deleted},
	}
	if len(r.Findings) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(r.Findings), len(want), r.Findings)
	}
	for _, f := range r.Findings {
		w, ok := want[f.File]
		if !ok {
			t.Errorf("unexpected finding %+v", f)
			continue
		}
		if f.Rule != w.rule || f.Line != w.line || f.Status != w.status || f.Layer == nil || f.Layer.Index != 0 || f.Platform != "linux/amd64" {
			t.Errorf("%s: %+v (layer %+v), want rule %s line %d status %s in layer 0", f.File, f, f.Layer, w.rule, w.line, w.status)
		}
		if !strings.HasPrefix(f.Layer.Digest, "sha256:") || !strings.HasPrefix(f.Layer.DiffID, "sha256:") {
			t.Errorf("layer %+v lacks its digests", f.Layer)
		}
	}
	if r.Scanned.Layers != 3 || r.Scanned.Files != 7 {
		t.Errorf("scanned %+v, want 3 layers and 7 files", r.Scanned)
	}
	js, _ := json.Marshal(r)
	mustNotContain(t, "the report", js, present, deleted, shadowed, opaque, replaced)
}

func TestScanImageLimits(t *testing.T) {
	var many []entry
	for i := range 20 {
		many = append(many, entry{name: "f" + itoa(i), body: "x"})
	}
	_, err := ScanImage(context.Background(), imageOf(t, layer(t, many...)), "many", ImageOptions{MaxLayerEntries: 10})
	if !errors.Is(err, ErrLayerLimit) || !strings.Contains(err.Error(), "more than 10 files") {
		t.Errorf("20 files over a limit of 10: %v", err)
	}
	big := layer(t, entry{name: "big", body: strings.Repeat("y", 1<<16)})
	_, err = ScanImage(context.Background(), imageOf(t, big), "big", ImageOptions{MaxLayerBytes: 1 << 12})
	if !errors.Is(err, ErrLayerLimit) || !strings.Contains(err.Error(), "expands past 4096 bytes") {
		t.Errorf("a layer over the byte limit: %v", err)
	}
}
