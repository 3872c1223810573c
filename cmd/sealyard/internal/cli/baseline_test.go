package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	cremote "github.com/sigstore/cosign/v2/pkg/cosign/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"

	"github.com/sealyard/sealyard/internal/testutil/goprog"
	"github.com/sealyard/sealyard/internal/testutil/plant"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/predicate"
)

// A baseline from the registry: release 1 ships one program (golang.org/x/text
// v0.3.5), signed and attested; the next build adds a second program with
// an old golang.org/x/net. Gated against release 1's signed vulnerability
// attestation, exactly x/net's advisories are new and x/text's known;
// against the reverse, x/text's are listed as fixed. A baseline whose
// attestation was edited after signing is refused (exit 2), as is one
// verified with another key.
func TestRegistryBaseline(t *testing.T) {
	s := newSigning(t)
	text := goprog.WithToolchain(goprog.TextParse, "go1.27.3")
	html := goprog.WithToolchain(goprog.NetHTML, "go1.27.3")
	repo := s.reg.Host + "/baseline"
	var out string
	release := func(tag, src string, extra ...string) string {
		t.Helper()
		out = t.TempDir()
		r := s.sealyard(t, append(append([]string{"run", src, "--to", repo + ":" + tag, "--key", s.priv, "--skip-tlog-unsafe", "--gate-mode", "audit", "--out", out}, extra...), dbArgs(t)...)...).mustSucceed(t)
		line := strings.TrimSpace(r.stdout)
		return repo + "@" + line[strings.Index(line, "@")+1:]
	}
	v1 := release("v1", layoutOf(t, build.Directory(programDir(t, text), "/usr/local/bin")))
	// The next build adds a program and, by mistake, a credential.
	token := plant.GitHubToken(t)
	cfgDir := t.TempDir()
	os.WriteFile(filepath.Join(cfgDir, "deploy.env"), []byte("GITHUB_TOKEN="+token+"\n"), 0o644)
	next := layoutOf(t, build.Directory(programDir(t, text), "/usr/local/bin"), build.Directory(programDir(t, html), "/opt/bin"), build.Directory(cfgDir, "/etc/app"))
	const leaked = "/etc/app/deploy.env:github-pat:1"

	gate := func(src, baseline string, extra ...string) (result, *policy.Input, *facts.Decision) {
		t.Helper()
		dir := t.TempDir()
		in, dec := filepath.Join(dir, "input.json"), filepath.Join(dir, "decision.json")
		args := append([]string{"gate", src, "--baseline", baseline, "--key", s.pub, "--skip-tlog-unsafe", "-o", "input=" + in, "-o", "json=" + dec}, extra...)
		r := s.sealyard(t, append(args, dbArgs(t)...)...)
		if r.code == ExitError {
			return r, nil, nil
		}
		var input policy.Input
		var d facts.Decision
		if err := json.Unmarshal(mustRead(t, in), &input); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(mustRead(t, dec), &d); err != nil {
			t.Fatal(err)
		}
		return r, &input, &d
	}
	r, in, d := gate(next, "registry:"+v1)
	if in == nil {
		t.Fatalf("gate against the registry baseline: exit %d\n%s", r.code, r.stderr)
	}
	var fresh, known []string
	for _, f := range in.Findings {
		switch f.Status {
		case "new":
			fresh = append(fresh, f.ID+" "+f.Package.Name)
			if f.Package.Name != "golang.org/x/net" {
				t.Errorf("%s in %s is new, but release 1 had it or the added module does not", f.ID, f.Package.Name)
			}
		case "known":
			known = append(known, f.ID+" "+f.Package.Name)
		default:
			t.Errorf("%s has status %q", f.ID, f.Status)
		}
	}
	// Ground truth: the added program's x/net advisories, scanned alone.
	var alone facts.Report
	alonePath := filepath.Join(t.TempDir(), "html.json")
	run(t, "", nil, append([]string{"scan", layoutOf(t, build.Directory(programDir(t, html), "/opt/bin")), "-o", "json=" + alonePath}, dbArgs(t)...)...).mustSucceed(t)
	json.Unmarshal(mustRead(t, alonePath), &alone)
	var want []string
	for _, f := range alone.Findings {
		if f.Package.Name == "golang.org/x/net" {
			want = append(want, f.ID+" "+f.Package.Name)
		}
	}
	sort.Strings(fresh)
	sort.Strings(want)
	if len(want) == 0 || strings.Join(fresh, ",") != strings.Join(want, ",") || len(known) == 0 {
		t.Fatalf("new %v, want exactly the added module's %v; known %v", fresh, want, known)
	}
	t.Logf("new against release 1: %v; known: %v", fresh, known)
	if d.Counts.NewFindings != len(want) || len(d.New) != len(want) || in.Baseline == nil || in.Baseline.Source != v1 {
		t.Fatalf("counts %+v, new %v, baseline %+v", d.Counts, d.New, in.Baseline)
	}
	// The credential is new against release 1's secrets attestation.
	if strings.Join(d.NewSecrets, ",") != leaked || len(in.Secrets.Findings) != 1 || in.Secrets.Findings[0].Baseline != "new" {
		t.Fatalf("new credentials %v, input %+v", d.NewSecrets, in.Secrets)
	}
	// The table says what the change introduced.
	r = s.sealyard(t, append([]string{"gate", next, "--baseline", "registry:" + v1, "--key", s.pub, "--skip-tlog-unsafe"}, dbArgs(t)...)...)
	if !strings.Contains(r.stdout, fmt.Sprintf("%d new, 0 fixed, %d known", len(want), len(known))) || !strings.Contains(r.stdout, want[0]) {
		t.Fatalf("the table does not say what is new:\n%s", r.stdout)
	}

	// only_new: only the added module's advisories deny.
	data := filepath.Join(t.TempDir(), "only-new.yaml")
	os.WriteFile(data, []byte("settings:\n  vulnerabilities:\n    only_new: true\n"), 0o644)
	_, _, d = gate(next, "registry:"+v1, "--policy-data", data)
	for _, v := range d.Violations {
		if strings.Contains(v.Message, "golang.org/x/text") {
			t.Errorf("a known finding denied under only_new: %s", v.Message)
		}
	}

	// sealyard run takes the same baseline, verified with its own key, and
	// its summary says what the release adds.
	v2 := release("v2", next, "--baseline", "registry:"+v1)
	if summary := string(mustRead(t, filepath.Join(out, "summary.md"))); !strings.Contains(summary, fmt.Sprintf("| Against the baseline | %d new (", len(want))) {
		t.Fatalf("the run's summary does not say what is new:\n%s", summary)
	}

	// The other way: x/text's advisories are gone, and listed as fixed.
	r, _, d = gate(layoutOf(t, build.Directory(programDir(t, html), "/opt/bin")), "registry:"+v2)
	if d == nil {
		t.Fatalf("gate against release 2: exit %d\n%s", r.code, r.stderr)
	}
	fixed := map[string]bool{}
	for _, f := range d.Fixed {
		fixed[f.Package] = true
	}
	if !fixed["golang.org/x/text"] || fixed["golang.org/x/net"] || d.Counts.FixedFindings != len(d.Fixed) {
		t.Fatalf("fixed %+v", d.Fixed)
	}
	if strings.Join(d.FixedSecrets, ",") != leaked || len(d.NewSecrets) != 0 {
		t.Fatalf("credentials gone %v, new %v", d.FixedSecrets, d.NewSecrets)
	}
	// Release 2's secrets report is attested and verifies.
	s.sealyard(t, "verify", v2, "--key", s.pub, "--skip-tlog-unsafe", "--require", "sbom,vuln,provenance,secrets").mustSucceed(t)

	// Verified with another key: refused.
	other := filepath.Join(t.TempDir(), "other")
	run(t, "", s.env, "keygen", "--output-key-prefix", other).mustSucceed(t)
	r = s.sealyard(t, append([]string{"gate", next, "--baseline", "registry:" + v1, "--key", other + ".pub", "--skip-tlog-unsafe"}, dbArgs(t)...)...)
	if r.code != ExitError || !strings.Contains(r.stderr, "does not verify") {
		t.Fatalf("a baseline signed by another key: exit %d\n%s", r.code, r.stderr)
	}

	// Edited after signing: the vulnerability attestation claims no
	// findings at all (every finding would then look new, or a policy
	// could be talked into "nothing changed"). Refused.
	tamperVuln(t, s, v1)
	r = s.sealyard(t, append([]string{"gate", next, "--baseline", "registry:" + v1, "--key", s.pub, "--skip-tlog-unsafe"}, dbArgs(t)...)...)
	if r.code != ExitError || !strings.Contains(r.stderr, "does not verify") {
		t.Fatalf("a tampered baseline attestation: exit %d\n%s", r.code, r.stderr)
	}
}

// tamperVuln rewrites the payload of ref's vulnerability attestation (its
// findings emptied) and stores it in place of the signed one, keeping the
// signature.
func tamperVuln(t *testing.T, s *signing, ref string) {
	t.Helper()
	ctx := context.Background()
	d, err := name.NewDigest(ref)
	if err != nil {
		t.Fatal(err)
	}
	ro := []ociremote.Option{ociremote.WithRemoteOptions(s.reg.Client(t).RemoteOptions(ctx)...)}
	se, err := ociremote.SignedEntity(d, ro...)
	if err != nil {
		t.Fatal(err)
	}
	atts, err := se.Attestations()
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := atts.Get()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range sigs {
		ann, _ := sig.Annotations()
		if ann["predicateType"] != predicate.Vuln {
			continue
		}
		raw, err := sig.Payload()
		if err != nil {
			t.Fatal(err)
		}
		var env map[string]any
		json.Unmarshal(raw, &env)
		payload, _ := base64.StdEncoding.DecodeString(env["payload"].(string))
		var stmt map[string]any
		json.Unmarshal(payload, &stmt)
		pred := stmt["predicate"].(map[string]any)
		scanner := pred["scanner"].(map[string]any)
		result := scanner["result"].(map[string]any)
		result["findings"] = []any{}
		forged, _ := json.Marshal(stmt)
		env["payload"] = base64.StdEncoding.EncodeToString(forged)
		wrapped, _ := json.Marshal(env)
		att, err := static.NewAttestation(wrapped, static.WithLayerMediaType(ctypes.DssePayloadType), static.WithAnnotations(ann))
		if err != nil {
			t.Fatal(err)
		}
		newSE, err := mutate.AttachAttestationToEntity(se, att, mutate.WithReplaceOp(cremote.NewReplaceOp(predicate.Vuln)))
		if err != nil {
			t.Fatal(err)
		}
		if err := ociremote.WriteAttestations(d.Repository, newSE, ro...); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("no vulnerability attestation to tamper with")
}
