package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/sealyard/sealyard/internal/testutil/plant"
	"github.com/sealyard/sealyard/internal/testutil/schemas"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/secrets"
)

// secretLayout writes the gate image with two more layers: one writes a
// token into a file, the next deletes the file. The final file system has
// no token; the image does.
func secretLayout(t *testing.T, token string) string {
	t.Helper()
	img := vulnfixture.GateImage(t)
	for _, b := range [][]byte{
		plant.Layer(t, plant.Entry{Name: "app/config/", Type: '5'}, plant.Entry{Name: "app/config/deploy.env", Body: "REGION=eu\nGITHUB_TOKEN=" + token + "\n"}),
		plant.Layer(t, plant.Entry{Name: "app/config/.wh.deploy.env"}),
	} {
		l, err := tarball.LayerFromReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := image.Write(context.Background(), img, "oci-dir:"+dir); err != nil {
		t.Fatal(err)
	}
	return "oci-dir:" + dir
}

// A token in a file that a later layer deletes is still in the image: the
// run finds it, the gate denies (SY-SEC-003), nothing is pushed or signed,
// and the token is in no output, event or error. With the file on an
// allow-list the same image has no SY-SEC-003 violation.
func TestSecretInDeletedFileDeniesTheRun(t *testing.T) {
	f := setup(t)
	token := plant.GitHubToken(t)
	src := secretLayout(t, token)
	var printed strings.Builder
	cfg := f.config(t, src, "secretfile", false)
	cfg.Events = func(e Event) { printed.WriteString(e.Stage + " " + string(e.State) + " " + e.Detail + "\n") }
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Denied() || res.Pushed != "" || res.Signer != "" {
		t.Fatalf("result %+v, want denied and nothing pushed", res)
	}
	var msg string
	for _, v := range res.Decision.Violations {
		if v.Rule == "SY-SEC-003" {
			msg = v.Message
		}
	}
	if !strings.Contains(msg, "/app/config/deploy.env line 2") || !strings.Contains(msg, "deleted by a later layer") {
		t.Fatalf("no SY-SEC-003 violation placing the token: %+v", res.Decision.Violations)
	}
	var rep facts.SecretsReport
	if err := json.Unmarshal(mustRead(t, res.Outputs["secrets"]), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Status != facts.SecretDeleted || rep.Findings[0].Rule != "github-pat" || rep.Findings[0].Layer == nil {
		t.Fatalf("secrets.json findings %+v", rep.Findings)
	}
	host, _ := name.NewRegistry(f.reg.Host)
	if repos, err := remote.Catalog(context.Background(), host, f.client.RemoteOptions(context.Background())...); err != nil || len(repos) != 0 {
		t.Fatalf("the registry holds %v (%v) after a denied run", repos, err)
	}
	audit := readAudit(t, res.Outputs["audit log"])
	if audit["secrets"].State != Done {
		t.Fatalf("secrets stage %+v", audit["secrets"])
	}
	schemas.Validate(t, schemas.SealyardSecrets, mustRead(t, res.Outputs["secrets"]))
	schemas.Validate(t, schemas.SARIF, mustRead(t, res.Outputs["secrets SARIF"]))
	if !bytes.Contains(res.Summary, []byte("/app/config/deploy.env:github-pat:2")) || !bytes.Contains(res.Summary, []byte("| Secrets | 1 found")) {
		t.Fatalf("the summary does not list the credential:\n%s", res.Summary)
	}
	if page := mustRead(t, res.Outputs["HTML report"]); !bytes.Contains(page, []byte("/app/config/deploy.env:github-pat:2")) {
		t.Fatal("the HTML report does not list the credential")
	}
	plant.AssertAbsentInDir(t, cfg.OutDir, token)
	plant.AssertAbsent(t, "the progress events", []byte(printed.String()), token)
	plant.AssertAbsent(t, "the summary", res.Summary, token)

	// Allowed by path: no SY-SEC-003 (whatever else the gate says).
	cfg = f.config(t, src, "secretfile-allowed", false)
	cfg.Secrets.Allow = secrets.AllowList{Paths: []string{"app/config/*.env"}}
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(res.Decision.Violations, res.Decision.Warnings...) {
		if v.Rule == "SY-SEC-003" {
			t.Fatalf("an allowed finding denied: %s", v.Message)
		}
	}
	plant.AssertAbsentInDir(t, cfg.OutDir, token)
}

// TestSecretsScanStoppedEarlySaysSo: when another stage fails, the run
// stops the secrets scan that runs beside it; its audit entry says it was
// stopped, not that it failed on its own.
func TestSecretsScanStoppedEarlySaysSo(t *testing.T) {
	cfg := &Config{Now: time.Now, Events: func(Event) {}, OutDir: t.TempDir()}
	tr := &tracker{cfg: cfg}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errStoppedEarly)
	_, err := scanSecrets(ctx, cfg, tr, &Result{Outputs: map[string]string{}}, vulnfixture.GateImage(t), "example.com/app")
	if !errors.Is(err, errStoppedEarly) {
		t.Fatalf("a stopped scan: %v", err)
	}
	if len(tr.audit) != 1 || tr.audit[0].Stage != "secrets" || tr.audit[0].State != Failed || !strings.Contains(tr.audit[0].Error, "stopped: the run ended at another stage") {
		t.Fatalf("audit %+v", tr.audit)
	}
	if _, err := os.Stat(filepath.Join(cfg.OutDir, "secrets.json")); !os.IsNotExist(err) {
		t.Fatalf("secrets.json written by a stopped scan: %v", err)
	}
}
