// Package tufrepo serves a real TUF repository from httptest for tests:
// root, targets, snapshot and timestamp metadata signed with fresh ed25519
// keys (go-tuf's metadata package), consistent snapshots, and one target,
// the Sigstore trusted_root.json, as Sigstore's own repository lays them
// out. sigstore-go's TUF client fetches from it exactly as it would from
// the public-good repository.
package tufrepo

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// Repo is a served TUF repository.
type Repo struct {
	// URL is the repository's base URL (give it as --tuf-mirror).
	URL string
	// RootFile holds its 1.root.json (give it as --tuf-root).
	RootFile string
	// Requests counts the requests the repository served.
	Requests atomic.Int64
}

// Serve publishes trustedRoot (a Sigstore trusted_root.json) as the
// target trusted_root.json of a new repository.
func Serve(t *testing.T, trustedRoot []byte) *Repo {
	t.Helper()
	dir := t.TempDir()
	expires := time.Now().AddDate(0, 0, 7).UTC()
	root := metadata.Root(expires)
	targets := metadata.Targets(expires)
	snapshot := metadata.Snapshot(expires)
	timestamp := metadata.Timestamp(expires)
	signers := map[string]signature.Signer{}
	for _, role := range metadata.TOP_LEVEL_ROLE_NAMES {
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		key, err := metadata.KeyFromPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if err := root.Signed.AddKey(key, role); err != nil {
			t.Fatal(err)
		}
		if signers[role], err = signature.LoadSigner(priv, crypto.Hash(0)); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(trustedRoot)
	if err := os.MkdirAll(filepath.Join(dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	targetPath := filepath.Join(dir, "targets", fmt.Sprintf("%x.trusted_root.json", sum))
	if err := os.WriteFile(targetPath, trustedRoot, 0o644); err != nil {
		t.Fatal(err)
	}
	tf, err := metadata.TargetFile().FromFile(targetPath, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	targets.Signed.Targets["trusted_root.json"] = tf
	snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(targets.Signed.Version)
	timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(snapshot.Signed.Version)
	write := func(name string, sign func(signature.Signer) (*metadata.Signature, error), signer signature.Signer, toFile func(string, bool) error) {
		if _, err := sign(signer); err != nil {
			t.Fatal(err)
		}
		if err := toFile(filepath.Join(dir, name), true); err != nil {
			t.Fatal(err)
		}
	}
	write("1.root.json", root.Sign, signers[metadata.ROOT], root.ToFile)
	write(fmt.Sprintf("%d.targets.json", targets.Signed.Version), targets.Sign, signers[metadata.TARGETS], targets.ToFile)
	write(fmt.Sprintf("%d.snapshot.json", snapshot.Signed.Version), snapshot.Sign, signers[metadata.SNAPSHOT], snapshot.ToFile)
	write("timestamp.json", timestamp.Sign, signers[metadata.TIMESTAMP], timestamp.ToFile)
	r := &Repo{RootFile: filepath.Join(dir, "1.root.json")}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Requests.Add(1)
		files.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}
