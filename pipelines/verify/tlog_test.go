package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/sealyard/sealyard/internal/testutil/tufrepo"
	"github.com/sealyard/sealyard/internal/testutil/virtualsigstore"
	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/sign"
)

func TestKeyBasedTlog(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	url := virtualsigstore.RekorServer(t, vs)
	opts := []sign.Option{sign.WithRegistry(f.reg), sign.WithRekorURL(url)}
	res, err := sign.Image(ctx, f.d, f.key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Tlog {
		t.Fatal("the signature was not logged")
	}
	if _, err := sign.Attest(ctx, f.d, f.key, predicate.VSA, vsa(t, f.d, true, false, testPolicyDigest), opts...); err != nil {
		t.Fatal(err)
	}
	v, err := sign.LoadVerifier(ctx, f.pub)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKey(v, f.pub), WithTrustedMaterial(withoutCT{vs}), WithRequire("decision"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Signatures[0].Logged {
		t.Fatal("the logged signature was not checked against the log")
	}
	// Another log's keys do not vouch for these entries.
	other, _ := ca.NewVirtualSigstore()
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKey(v, f.pub), WithTrustedMaterial(withoutCT{other}))
	mustFail(t, err, "none valid")
}

// Without a trusted root file, the trusted root comes from a TUF
// repository (here one served from httptest, given as the mirror with its
// root of trust), is cached on disk, and checks the transparency log; with
// a file, verification is offline. An unreachable repository is an error
// that says how to go offline; a logged signature is never accepted
// without its log being checked.
func TestTrustedRootThroughTUF(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	opts := []sign.Option{sign.WithRegistry(f.reg), sign.WithRekorURL(virtualsigstore.RekorServer(t, vs))}
	if _, err := sign.Image(ctx, f.d, f.key, opts...); err != nil {
		t.Fatal(err)
	}
	v, _ := sign.LoadVerifier(ctx, f.pub)
	trJSON := virtualsigstore.TrustedRootJSON(t, vs)
	repo := tufrepo.Serve(t, trJSON)
	cache := t.TempDir()
	tm, err := TrustedRoot(TrustSource{Mirror: repo.URL, RootFile: repo.RootFile, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if repo.Requests.Load() == 0 {
		t.Fatal("the TUF repository was not asked")
	}
	res, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKey(v, f.pub), WithTrustedMaterial(tm))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Signatures[0].Logged {
		t.Fatal("the log entry was not checked")
	}
	if entries, _ := os.ReadDir(cache); len(entries) == 0 {
		t.Fatal("nothing was cached on disk")
	}
	// Offline, from the file.
	file := filepath.Join(t.TempDir(), "trusted_root.json")
	os.WriteFile(file, trJSON, 0o644)
	tm, err = TrustedRoot(TrustSource{File: file})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKey(v, f.pub), WithTrustedMaterial(tm)); err != nil {
		t.Fatal(err)
	}
	// Another repository's trusted root does not vouch for this log.
	otherVS, _ := ca.NewVirtualSigstore()
	other := tufrepo.Serve(t, virtualsigstore.TrustedRootJSON(t, otherVS))
	tm, err = TrustedRoot(TrustSource{Mirror: other.URL, RootFile: other.RootFile, CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKey(v, f.pub), WithTrustedMaterial(tm))
	mustFail(t, err, "none valid")
	// A repository signed by another root of trust is refused.
	if _, err := TrustedRoot(TrustSource{Mirror: other.URL, RootFile: repo.RootFile, CacheDir: t.TempDir()}); err == nil {
		t.Fatal("a TUF repository signed by other keys was trusted")
	}
	// Unreachable: the error names the way offline.
	_, err = TrustedRoot(TrustSource{Mirror: "http://127.0.0.1:1", RootFile: repo.RootFile, CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--trusted-root FILE") {
		t.Fatalf("unreachable TUF repository: %v", err)
	}
	// Another mirror without its root of trust is refused up front.
	if _, err := TrustedRoot(TrustSource{Mirror: repo.URL}); err == nil || !strings.Contains(err.Error(), "--tuf-root") {
		t.Fatalf("a mirror without its root: %v", err)
	}
	// A logged signature is not verified without trusted material.
	if _, err := Verify(ctx, f.d.String(), WithRegistry(f.reg), WithKey(v, f.pub)); err == nil || !strings.Contains(err.Error(), "--skip-tlog-unsafe") {
		t.Fatalf("verifying without a trusted root: %v", err)
	}
}
