package secrets

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/sealyard/sealyard/internal/testutil/plant"
	"github.com/sealyard/sealyard/internal/testutil/schemas"
)

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
	gh, aws, key := plant.GitHubToken(t), plant.AWSKeyID(t), plant.PrivateKeyPEM(t)
	write(t, filepath.Join(dir, "config", "app.env"), "# settings\nDEBUG=false\nGITHUB_TOKEN="+gh+"\n")
	write(t, filepath.Join(dir, "deploy", "id_rsa"), key)
	write(t, filepath.Join(dir, "testdata", "fixture.env"), "AWS_ACCESS_KEY_ID="+aws+"\n")
	write(t, filepath.Join(dir, ".git", "config"), "token = "+plant.GitHubToken(t)+"\n")
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
	plant.AssertAbsent(t, "the report", js, gh, aws, key)
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestScanPathsErrors(t *testing.T) {
	_, err := ScanPaths(context.Background(), []string{filepath.Join(t.TempDir(), "missing")}, Options{})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a missing path: %v", err)
	}
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
	present, deleted, shadowed, opaque, replaced := plant.GitHubToken(t), plant.AWSKeyID(t), plant.GitHubToken(t), plant.PrivateKeyPEM(t), plant.GitHubToken(t)
	img := imageOf(t,
		plant.Layer(t,
			plant.Entry{Name: "etc/app/", Type: tar.TypeDir},
			plant.Entry{Name: "etc/app/creds.env", Body: "TOKEN=" + present + "\n"},
			plant.Entry{Name: "tmp/build.env", Body: "\n\nAWS_ACCESS_KEY_ID=" + deleted + "\n"},
			plant.Entry{Name: "srv/key.env", Body: "TOKEN=" + shadowed + "\n"},
			plant.Entry{Name: "opt/cfg/key.pem", Body: opaque},
			plant.Entry{Name: "var/lib/app/token", Body: "TOKEN=" + replaced + "\n"},
		),
		plant.Layer(t,
			plant.Entry{Name: "tmp/.wh.build.env"},
			plant.Entry{Name: "srv/key.env", Body: "TOKEN=from-the-environment\n"},
		),
		plant.Layer(t,
			plant.Entry{Name: "opt/cfg/.wh..wh..opq"},
			plant.Entry{Name: "var/lib/app", Body: "now a file\n"},
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
	plant.AssertAbsent(t, "the report", js, present, deleted, shadowed, opaque, replaced)
}

func TestScanImageLimits(t *testing.T) {
	var many []plant.Entry
	for i := range 20 {
		many = append(many, plant.Entry{Name: "f" + itoa(i), Body: "x"})
	}
	_, err := ScanImage(context.Background(), imageOf(t, plant.Layer(t, many...)), "many", ImageOptions{MaxLayerEntries: 10})
	if !errors.Is(err, ErrLayerLimit) || !strings.Contains(err.Error(), "more than 10 files") {
		t.Errorf("20 files over a limit of 10: %v", err)
	}
	big := plant.Layer(t, plant.Entry{Name: "big", Body: strings.Repeat("y", 1<<16)})
	_, err = ScanImage(context.Background(), imageOf(t, big), "big", ImageOptions{MaxLayerBytes: 1 << 12})
	if !errors.Is(err, ErrLayerLimit) || !strings.Contains(err.Error(), "expands past 4096 bytes") {
		t.Errorf("a layer over the byte limit: %v", err)
	}
}

// The report, with findings of every status, allowed or not, matches its
// schema.
func TestReportSchema(t *testing.T) {
	r, err := ScanImage(context.Background(), imageOf(t,
		plant.Layer(t, plant.Entry{Name: "a.env", Body: "T=" + plant.GitHubToken(t) + "\n"}, plant.Entry{Name: "b.env", Body: "T=" + plant.GitHubToken(t) + "\n"}),
		plant.Layer(t, plant.Entry{Name: ".wh.a.env"}),
	), "schema-test", ImageOptions{Options: Options{Allow: AllowList{Paths: []string{"b.env"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 2 || r.Findings[0].Status != Deleted || r.Findings[1].Allowed == "" {
		t.Fatalf("findings %+v", r.Findings)
	}
	js, _ := json.Marshal(r)
	schemas.Validate(t, schemas.SealyardSecrets, js)
	tree, err := ScanPaths(context.Background(), []string{t.TempDir()}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, _ = json.Marshal(tree)
	schemas.Validate(t, schemas.SealyardSecrets, js)
}
