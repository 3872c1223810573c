package verify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/sign"
)

// rekorServer serves Rekor's create-entry API over HTTP, backed by the
// virtual log: the key-based path uses cosign's own Rekor HTTP client.
func rekorServer(t *testing.T, vs *ca.VirtualSigstore) string {
	t.Helper()
	vr := &virtualRekor{vs: vs}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
			http.NotFound(w, r)
			return
		}
		pe, err := models.UnmarshalProposedEntry(r.Body, runtime.JSONConsumer())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		created, err := vr.CreateLogEntry(&entries.CreateLogEntryParams{ProposedEntry: pe})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", created.ETag)
		w.Header().Set("Location", "/api/v1/log/entries/"+created.ETag)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(created.Payload)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestKeyBasedTlog(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	url := rekorServer(t, vs)
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
