// Package virtualsigstore serves sigstore-go's in-process VirtualSigstore
// as the parts of Sigstore that signing and verifying talk to: a Rekor
// create-entry API over HTTP (the one cosign's and sealyard's Rekor
// clients call), an in-process Rekor client for sigstore-go's signer, and
// the virtual instance's keys written as a trusted_root.json. The public
// instances are not reachable from the test machines.
package virtualsigstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/swag/conv"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// Rekor logs entries the way Rekor does, signing them with the
// virtual log's key.
type Rekor struct {
	VS    *ca.VirtualSigstore
	index atomic.Int64
}

func (r *Rekor) CreateLogEntry(params *entries.CreateLogEntryParams, _ ...entries.ClientOption) (*entries.CreateLogEntryCreated, error) {
	ctx := context.Background()
	impl, err := types.UnmarshalEntry(params.ProposedEntry)
	if err != nil {
		return nil, err
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, err
	}
	logID, err := r.VS.RekorLogID()
	if err != nil {
		return nil, err
	}
	now := time.Now().Unix()
	idx := r.index.Add(1)
	set, err := r.VS.RekorSignPayload(tlog.RekorPayload{LogID: logID, IntegratedTime: now, LogIndex: idx, Body: base64.StdEncoding.EncodeToString(body)})
	if err != nil {
		return nil, err
	}
	proof, err := r.VS.GetInclusionProof(body)
	if err != nil {
		return nil, err
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	entry := models.LogEntryAnon{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: conv.Pointer(now),
		LogID:          conv.Pointer(logID),
		LogIndex:       conv.Pointer(idx),
		Verification:   &models.LogEntryAnonVerification{SignedEntryTimestamp: set, InclusionProof: proof},
	}
	uuid := hex.EncodeToString(leaf[:])
	return &entries.CreateLogEntryCreated{ETag: uuid, Payload: models.LogEntry{uuid: entry}}, nil
}

var _ = runtime.JSONConsumer

// RekorServer serves Rekor's create-entry API over HTTP, backed by the
// virtual log: the key-based path uses cosign's own Rekor HTTP client.
func RekorServer(t *testing.T, vs *ca.VirtualSigstore) string {
	t.Helper()
	vr := &Rekor{VS: vs}
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

// TrustedRootJSON writes the virtual Sigstore's keys as a trusted_root.json
// (Rekor log only: its certificates carry no SCTs).
func TrustedRootJSON(t *testing.T, vs *ca.VirtualSigstore) []byte {
	t.Helper()
	// The virtual log keeps its ID as hex text; a trusted_root.json holds
	// the key ID's bytes.
	logs := map[string]*root.TransparencyLog{}
	for id, l := range vs.RekorLogs() {
		c := *l
		raw, err := hex.DecodeString(string(l.ID))
		if err != nil {
			t.Fatal(err)
		}
		c.ID = raw
		logs[id] = &c
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), nil, vs.TimestampingAuthorities(), logs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
