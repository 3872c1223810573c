package run

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/internal/atomicfile"
	"github.com/sealyard/sealyard/pipelines/assess"
	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/publish"
	"github.com/sealyard/sealyard/pipelines/report"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/scan"
	"github.com/sealyard/sealyard/pipelines/secrets"
	"github.com/sealyard/sealyard/pipelines/sign"
)

// Result is what a run did.
type Result struct {
	// Digest is the image digest, computed locally before any push.
	Digest string `json:"digest"`
	// Pushed is REPOSITORY@DIGEST when the image was pushed.
	Pushed string `json:"pushed,omitempty"`
	// Tags are the tags moved, last.
	Tags []string `json:"tags,omitempty"`
	// Decision is the gate's decision.
	Decision *facts.Decision `json:"decision"`
	// Findings are the findings of every platform.
	Findings *facts.Report `json:"-"`
	// Signer names who signed, when the image was signed.
	Signer string `json:"signer,omitempty"`
	// Outputs are the files written, by kind.
	Outputs map[string]string `json:"outputs"`
	// Summary is the Markdown summary.
	Summary []byte `json:"-"`
	// BaseUpdate says what updating the base image would clear, when a
	// newer base was named.
	BaseUpdate *facts.BaseUpdate `json:"baseUpdate,omitempty"`
	// Secrets is the secrets scan of every layer.
	Secrets *facts.SecretsReport `json:"-"`
	// Packages are each platform's SBOM packages, for the HTML report.
	Packages map[string][]facts.SBOMPackage `json:"-"`
	// Attested are the predicate types attested, once attested.
	Attested []string `json:"attested,omitempty"`

	outputsMu sync.Mutex // stages write their outputs concurrently
}

// output records a file written, by kind.
func (r *Result) output(kind, path string) {
	r.outputsMu.Lock()
	defer r.outputsMu.Unlock()
	r.Outputs[kind] = path
}

// Denied reports whether the gate stopped the run.
func (r *Result) Denied() bool { return r.Decision != nil && !r.Decision.Allowed() }

type platformResult struct {
	platform v1.Platform
	doc      *sbom.Document
	report   *facts.Report
	// cdx and spdx are the encoded SBOMs, written once and attested;
	// syft is the syft JSON document (written, for grype sbom:FILE).
	cdx, spdx, syft []byte
}

// Run takes cfg.Source to a signed, attested image at cfg.Destination.
// A denied image stops the run before the push: the Result says so and the
// error is nil (a denial is data). Errors are failures to run.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &tracker{cfg: &cfg}
	if err := t.openAudit(cfg.OutDir); err != nil {
		return nil, err
	}
	res := &Result{Outputs: map[string]string{}}
	err := run(ctx, &cfg, t, res)
	if p, aerr := t.closeAudit(cfg.OutDir); aerr == nil {
		res.output("audit log", p)
	} else if err == nil {
		err = aerr
	}
	return res, err
}

func run(ctx context.Context, cfg *Config, t *tracker, res *Result) error {
	dst, err := publish.Destination(cfg.Destination, cfg.Registry)
	if err != nil {
		return err
	}
	if _, ok := dst.(name.Digest); ok {
		return fmt.Errorf("--to %q names a digest; give REPOSITORY[:TAG]", cfg.Destination)
	}
	started := cfg.Now()

	// Source: build or load, once.
	src, err := source(ctx, cfg, t)
	if err != nil {
		return err
	}
	defer src.close()
	digest, err := src.artifact.Digest()
	if err != nil {
		return err
	}
	res.Digest = digest.String()
	imgs, err := image.Images(src.artifact)
	if err != nil {
		return err
	}

	// The secrets scan reads every layer on its own: it runs beside the
	// cataloging, and the gate waits for both.
	secCtx, cancelSecrets := context.WithCancelCause(ctx)
	defer cancelSecrets(errStoppedEarly)
	var sec *facts.SecretsReport
	var secErr error
	secDone := make(chan struct{})
	go func() {
		defer close(secDone)
		sec, secErr = scanSecrets(secCtx, cfg, t, res, src.artifact, dst.String())
	}()
	waitSecrets := func() error {
		<-secDone
		return secErr
	}
	// On an early return the scan is stopped and waited for, so nothing
	// writes to res or the output directory after run returns.
	defer func() {
		cancelSecrets(errStoppedEarly)
		<-secDone
	}()

	// Per platform: catalog, then scan, the platforms concurrently.
	results := make([]platformResult, len(imgs))
	errs := make([]error, len(imgs))
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for i, pi := range imgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = inventory(ctx, cfg, t, dst, pi, src.base)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// Documents, concurrently with the gate.
	var docsErr error
	var docsWG sync.WaitGroup
	docsWG.Add(1)
	go func() {
		defer docsWG.Done()
		docsErr = writeSBOMs(cfg, t, res, results)
	}()

	res.Packages = map[string][]facts.SBOMPackage{}
	for _, r := range results {
		res.Packages[r.platform.String()] = sbom.Packages(r.doc)
	}
	findings := mergeFindings(results, dst.Context().Name(), res.Digest)
	res.Findings = findings
	if cfg.BaseUpdateRef != "" {
		if src.base == nil {
			docsWG.Wait()
			return fmt.Errorf("--base-update needs --base (the current base image)")
		}
		newer, err := image.Load(ctx, cfg.BaseUpdateRef, image.WithRegistry(cfg.Registry))
		if err != nil {
			docsWG.Wait()
			return fmt.Errorf("--base-update: %w", cfg.Registry.Explain(err))
		}
		nf, err := assess.Findings(ctx, newer.Artifact, cfg.DB, nil)
		newer.Close()
		if err != nil {
			docsWG.Wait()
			return fmt.Errorf("--base-update: %w", err)
		}
		u := facts.BaseUpdateOf(findings.Findings, nf, cfg.BaseUpdateRef)
		res.BaseUpdate = &u
	}

	if err := waitSecrets(); err != nil {
		docsWG.Wait()
		return err
	}
	img, err := policy.ImageFacts(dst.String(), src.artifact)
	if err != nil {
		docsWG.Wait()
		return err
	}
	decision, inputJSON, err := gate(ctx, cfg, t, img, results, sec)
	docsWG.Wait()
	if err != nil {
		return err
	}
	if docsErr != nil {
		return docsErr
	}
	res.Decision = decision
	if err := writeJSON(cfg, res, "findings", "findings.json", findings); err != nil {
		return err
	}
	decisionJSON, err := facts.Encode(decision)
	if err != nil {
		return fmt.Errorf("encoding the decision: %w", err)
	}
	if err := writeBytes(cfg, res, "decision", "decision.json", decisionJSON); err != nil {
		return err
	}
	vexDoc, err := writeReports(cfg, t, res, findings, results, dst, started)
	if err != nil {
		return err
	}

	if res.Denied() {
		for _, s := range []string{"push", "sign", "attest", "tag"} {
			t.skip(s, "the gate denied the image")
		}
		return writeSummary(cfg, res, dst)
	}

	// Push by digest and check the registry holds what was computed here.
	st := t.begin("push", map[string]string{"image": res.Digest})
	sctx, cancel := context.WithTimeout(ctx, cfg.StageTimeout)
	pushed, err := publish.Push(sctx, src.artifact, dst.Context().String(), publish.WithRegistry(cfg.Registry))
	if err == nil && pushed.DigestStr() != res.Digest {
		err = fmt.Errorf("the registry stored %s, not the local digest %s", pushed.DigestStr(), res.Digest)
	}
	cancel()
	if err != nil {
		return st.end(cfg.Registry.Explain(err), "")
	}
	st.outputs["pushed"] = pushed.String()
	res.Pushed = pushed.String()
	st.end(nil, pushed.String())

	// Sign the digest (and each platform image of an index).
	st = t.begin("sign", map[string]string{"image": res.Digest})
	st.extra = func(e *auditEntry) { e.Signer = cfg.Signer.String() }
	opts := append([]sign.Option{sign.WithRegistry(cfg.Registry)}, cfg.SignOptions...)
	if len(imgs) > 1 {
		opts = append(opts, sign.WithRecursive())
	}
	sctx, cancel = context.WithTimeout(ctx, cfg.StageTimeout)
	_, err = sign.Image(sctx, pushed, cfg.Signer, opts...)
	cancel()
	if err != nil {
		return st.end(cfg.Registry.Explain(err), "")
	}
	res.Signer = cfg.Signer.String()
	st.end(nil, cfg.Signer.String())

	// Attest: SBOMs and scans per platform, provenance and the decision.
	sctx, cancel = context.WithTimeout(ctx, cfg.StageTimeout)
	err = attest(sctx, cfg, t, res, pushed, img, results, gated{decision, decisionJSON, inputJSON, vexDoc}, started)
	cancel()
	if err != nil {
		return err
	}

	// Tags last.
	tags := append(publish.TagsOf(dst), cfg.Tags...)
	st = t.begin("tag", map[string]string{"image": pushed.String()})
	sctx, cancel = context.WithTimeout(ctx, cfg.StageTimeout)
	moved, err := publish.Tag(sctx, pushed, tags, publish.WithRegistry(cfg.Registry))
	cancel()
	for _, m := range moved {
		res.Tags = append(res.Tags, m.String())
	}
	if err != nil {
		return st.end(cfg.Registry.Explain(err), "")
	}
	st.outputs["tags"] = strings.Join(res.Tags, ",")
	st.end(nil, strings.Join(res.Tags, ", "))
	return writeSummary(cfg, res, dst)
}

type loadedSource struct {
	artifact image.Artifact
	close    func()
	baseName string
	// base is the base image, when known: findings in its layers are
	// attributed to it.
	base image.Artifact
}

// source builds or loads the image the run is about.
func source(ctx context.Context, cfg *Config, t *tracker) (*loadedSource, error) {
	st := t.begin("source", map[string]string{"source": cfg.Source})
	fi, statErr := os.Stat(cfg.Source)
	isDir := statErr == nil && fi.IsDir()
	switch {
	case isDir && hasGoFiles(cfg.Source):
		opts := append([]build.Option{build.WithPlatforms(cfg.Platforms...), build.WithSourceInfo(cfg.Info)}, cfg.BuildOptions...)
		if !cfg.Created.IsZero() {
			opts = append(opts, build.WithCreated(cfg.Created))
		}
		var base *image.Loaded
		if cfg.BaseRef != "" && cfg.BaseRef != "scratch" {
			var err error
			base, err = image.Load(ctx, cfg.BaseRef, image.WithRegistry(cfg.Registry))
			if err != nil {
				return nil, st.end(err, "")
			}
			opts = append(opts, build.WithBase(cfg.BaseRef, base.Artifact))
		}
		a, err := build.Build(ctx, []build.Source{build.GoPackage(cfg.Source, ".")}, opts...)
		if err != nil {
			base.Close()
			return nil, st.end(err, "")
		}
		src, err := finishSource(st, a, func() { base.Close() })
		if err == nil && base != nil {
			src.base = base.Artifact
		}
		return src, err
	case isDir && exists(filepath.Join(cfg.Source, "Dockerfile")):
		if cfg.Dockerfile == nil {
			return nil, st.end(ErrDockerfileNeedsEngine, "")
		}
		a, release, err := cfg.Dockerfile(ctx, cfg.Source, cfg.Platforms)
		if err != nil {
			return nil, st.end(err, "")
		}
		return finishSource(st, a, release)
	case isDir:
		return nil, st.end(fmt.Errorf("%q holds neither Go files nor a Dockerfile; give a Go main package, a Dockerfile directory or an image reference", cfg.Source), "")
	default:
		l, err := image.Load(ctx, cfg.Source, image.WithRegistry(cfg.Registry), image.WithPlatforms(cfg.Platforms...))
		if err != nil {
			return nil, st.end(cfg.Registry.Explain(err), "")
		}
		closeAll := func() { l.Close() }
		var base *image.Loaded
		if cfg.BaseRef != "" && cfg.BaseRef != "scratch" {
			// An existing image: the base only says which layers are its.
			if base, err = image.Load(ctx, cfg.BaseRef, image.WithRegistry(cfg.Registry)); err != nil {
				l.Close()
				return nil, st.end(fmt.Errorf("--base: %w", cfg.Registry.Explain(err)), "")
			}
			closeAll = func() { l.Close(); base.Close() }
		}
		src, err := finishSource(st, l.Artifact, closeAll)
		if err == nil && base != nil {
			src.base = base.Artifact
		}
		return src, err
	}
}

func finishSource(st *stage, a image.Artifact, closer func()) (*loadedSource, error) {
	d, err := a.Digest()
	if err != nil {
		closer()
		return nil, st.end(err, "")
	}
	st.outputs["image"] = d.String()
	st.end(nil, d.String())
	return &loadedSource{artifact: a, close: closer}, nil
}

func inventory(ctx context.Context, cfg *Config, t *tracker, dst name.Reference, pi image.PlatformImage, base image.Artifact) (platformResult, error) {
	p := pi.Platform.String()
	d, err := pi.Image.Digest()
	if err != nil {
		return platformResult{}, err
	}
	st := t.begin("sbom "+p, map[string]string{"image": d.String()})
	doc, err := sbom.Generate(ctx, pi.Image, sbom.WithRepository(dst.Context().Name()), sbom.WithToolVersion(cfg.ToolVersion), sbom.WithParallelism(2), sbom.WithRedaction(cfg.Policy.Redacter()))
	if err != nil {
		return platformResult{}, st.end(fmt.Errorf("cataloging %s: %w", p, err), "")
	}
	st.outputs["packages"] = fmt.Sprint(doc.SBOM.Artifacts.Packages.PackageCount())
	st.end(nil, fmt.Sprintf("%d packages", doc.SBOM.Artifacts.Packages.PackageCount()))

	st = t.begin("scan "+p, map[string]string{"image": d.String(), "db": cfg.DB.Status().Digest})
	var scanOpts []scan.Option
	if base != nil {
		ids, err := image.DiffIDs(base, pi.Platform)
		if err != nil {
			return platformResult{}, st.end(err, "")
		}
		scanOpts = append(scanOpts, scan.WithBase(ids))
	}
	rep, err := scan.Scan(ctx, scan.FromDocument(doc), cfg.DB, scanOpts...)
	if err != nil {
		return platformResult{}, st.end(fmt.Errorf("scanning %s: %w", p, err), "")
	}
	st.outputs["findings"] = fmt.Sprint(len(rep.Findings))
	st.end(nil, fmt.Sprintf("%d findings, %d reachable", rep.Summary.Total, rep.Summary.Reachable))
	return platformResult{platform: pi.Platform, doc: doc, report: rep}, nil
}

func platformTag(p v1.Platform) string { return strings.ReplaceAll(p.String(), "/", "-") }

// writeSBOMs encodes every platform's CycloneDX, SPDX and syft JSON documents once,
// concurrently, keeps the bytes for the attestations, and writes them out
// (the CycloneDX bytes also as GitLab's gl-sbom-*.cdx.json).
func writeSBOMs(cfg *Config, t *tracker, res *Result, results []platformResult) error {
	st := t.begin("documents", nil)
	type job struct {
		r      *platformResult
		format sbom.Format
	}
	var jobs []job
	for i := range results {
		jobs = append(jobs, job{&results[i], sbom.CycloneDXJSON}, job{&results[i], sbom.SPDXJSON}, job{&results[i], sbom.SyftJSON})
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, err := sbom.EncodeBytes(j.r.doc, j.format, cfg.Created)
			switch j.format {
			case sbom.CycloneDXJSON:
				j.r.cdx = data
			case sbom.SPDXJSON:
				j.r.spdx = data
			default:
				j.r.syft = data
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return st.end(err, "")
	}
	n := 0
	for _, r := range results {
		tag, p := platformTag(r.platform), r.platform.String()
		for _, f := range []struct {
			file, kind string
			data       []byte
		}{
			{"sbom-" + tag + ".cdx.json", "SBOM (CycloneDX) " + p, r.cdx},
			{"sbom-" + tag + ".spdx.json", "SBOM (SPDX) " + p, r.spdx},
			{"sbom-" + tag + ".syft.json", "SBOM (syft JSON) " + p, r.syft},
			{"gl-sbom-" + tag + ".cdx.json", "GitLab CycloneDX " + p, r.cdx},
		} {
			path := filepath.Join(cfg.OutDir, f.file)
			if err := atomicfile.WriteBytes(path, 0o644, f.data); err != nil {
				return st.end(err, "")
			}
			res.output(f.kind, path)
			st.outputs[f.file] = sha256Of(f.data)
			n++
		}
	}
	return st.end(nil, fmt.Sprintf("%d documents", n))
}

func mergeFindings(results []platformResult, name, digest string) *facts.Report {
	out := &facts.Report{SchemaVersion: facts.FindingsSchema, Image: &facts.Image{Name: name, Digest: digest}, Findings: []facts.Finding{}}
	ignored := 0
	for _, r := range results {
		out.DB = r.report.DB
		for _, f := range r.report.Findings {
			f.Platform = r.platform.String()
			out.Findings = append(out.Findings, f)
		}
		for _, ig := range r.report.Ignored {
			ig.Platform = r.platform.String()
			out.Ignored = append(out.Ignored, ig)
		}
		ignored += len(r.report.Ignored)
	}
	if len(results) == 1 {
		out.Image.Platform = results[0].platform.String()
	}
	out.Summary = facts.Summarize(out.Findings, ignored)
	return out
}

// errStoppedEarly stops the secrets scan, which runs beside the other
// stages, when the run ends before the gate (another stage failed).
var errStoppedEarly = errors.New("stopped: the run ended at another stage")

// scanSecrets reads every layer of the image for credentials and writes
// secrets.json.
func scanSecrets(ctx context.Context, cfg *Config, t *tracker, res *Result, a image.Artifact, ref string) (*facts.SecretsReport, error) {
	st := t.begin("secrets", map[string]string{"image": res.Digest})
	r, err := secrets.ScanImage(ctx, a, ref, secrets.ImageOptions{Options: secrets.Options{Allow: cfg.Secrets.Allow}})
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errStoppedEarly) {
			err = cause
		}
		return nil, st.end(fmt.Errorf("scanning for secrets: %w", err), "")
	}
	if err := writeJSON(cfg, res, "secrets", "secrets.json", r); err != nil {
		return nil, st.end(err, "")
	}
	var sarif bytes.Buffer
	if err := report.SecretsSARIF(&sarif, r, cfg.ToolVersion); err != nil {
		return nil, st.end(err, "")
	}
	if err := writeBytes(cfg, res, "secrets SARIF", "secrets.sarif", sarif.Bytes()); err != nil {
		return nil, st.end(err, "")
	}
	st.outputs["findings"] = fmt.Sprint(len(r.Findings))
	st.end(nil, fmt.Sprintf("%d credentials (%d allowed) in %d files of %d layers", len(r.Findings), len(r.Findings)-len(r.Denying()), r.Scanned.Files, r.Scanned.Layers))
	res.Secrets = r
	return r, nil
}

func gate(ctx context.Context, cfg *Config, t *tracker, img policy.Image, results []platformResult, sec *facts.SecretsReport) (*facts.Decision, []byte, error) {
	st := t.begin("gate", map[string]string{"db": cfg.DB.Status().Digest, "policy": cfg.Policy.Digest()})
	var platforms []assess.Platform
	for _, r := range results {
		platforms = append(platforms, assess.Platform{Name: r.platform.String(), Packages: sbom.Packages(r.doc), HasSBOM: true, Report: r.report})
	}
	in := assess.Assemble(img, policy.ProvenanceFacts(cfg.Info), platforms)
	if sec != nil {
		in.AddSecrets(sec)
	}
	d, seen, err := cfg.Policy.Gate(ctx, in, append(cfg.GateOptions, policy.WithNow(cfg.Now()))...)
	if err != nil {
		return nil, nil, st.end(err, "")
	}
	raw, err := facts.Encode(seen)
	if err != nil {
		return nil, nil, st.end(fmt.Errorf("encoding the policy input: %w", err), "")
	}
	if err := atomicfile.WriteBytes(filepath.Join(cfg.OutDir, "policy-input.json"), 0o644, raw); err != nil {
		return nil, nil, st.end(err, "")
	}
	st.inputs["image"] = img.Digest
	st.outputs["input"] = d.Digests.Input
	st.extra = func(e *auditEntry) { e.Decision = d.Decision }
	st.end(nil, fmt.Sprintf("%s (%d violations, %d warnings)", d.Decision, len(d.Violations), len(d.Warnings)))
	return d, raw, nil
}

// gated is the gate's decision with the exact bytes of decision.json and
// policy-input.json, whose digests the verification summary records.
type gated struct {
	decision            *facts.Decision
	decisionJSON, input []byte
	// vex is the reachability OpenVEX document, or nil when there was
	// nothing to state.
	vex []byte
}

func attest(ctx context.Context, cfg *Config, t *tracker, res *Result, d name.Digest, img policy.Image, results []platformResult, g gated, started time.Time) error {
	decision := g.decision
	st := t.begin("attest", map[string]string{"image": d.String()})
	st.extra = func(e *auditEntry) { e.Signer = cfg.Signer.String() }
	var stmts []sign.Statement
	multi := len(results) > 1
	for _, r := range results {
		platform := ""
		if multi {
			platform = r.platform.String()
		}
		vuln, err := predicate.NewVuln(r.report, cfg.ToolVersion, cfg.Info.RunURL, cfg.Info.BuilderID, started, cfg.Now())
		if err != nil {
			return st.end(err, "")
		}
		stmts = append(stmts,
			sign.Statement{PredicateType: predicate.CycloneDX, Predicate: r.cdx, Platform: platform},
			sign.Statement{PredicateType: predicate.SPDX, Predicate: r.spdx, Platform: platform},
			sign.Statement{PredicateType: predicate.Vuln, Predicate: vuln, Platform: platform},
		)
	}
	var platforms []string
	for _, r := range results {
		platforms = append(platforms, r.platform.String())
	}
	in := predicate.ProvenanceInput{
		Source: cfg.Source, Platforms: platforms, Info: cfg.Info,
		ToolVersion: cfg.ToolVersion, Started: started, Finished: cfg.Now(),
	}
	if img.Base != nil {
		in.BaseName, in.BaseDigest = img.Base.Name, img.Base.Digest
	}
	prov, err := predicate.NewProvenance(in)
	if err != nil {
		return st.end(err, "")
	}
	var violations []string
	for _, v := range decision.Violations {
		violations = append(violations, v.Rule)
	}
	vsa, err := predicate.NewVSA(predicate.DecisionInput{
		Passed: decision.Verdict == "pass", Audit: decision.Mode == facts.Audit,
		ResourceURI: d.String(), PolicyDigest: decision.Digests.Policy, DBDigest: decision.Digests.DB,
		InputDigest: facts.Digest(g.input), DecisionDigest: facts.Digest(g.decisionJSON),
		Violations: violations, UnsafeSettings: cfg.UnsafeSettings, ToolVersion: cfg.ToolVersion, Time: cfg.Now(),
		Risk: decision.Risk,
	})
	if err != nil {
		return st.end(err, "")
	}
	stmts = append(stmts,
		sign.Statement{PredicateType: predicate.SLSAProvenance1, Predicate: prov},
		sign.Statement{PredicateType: predicate.VSA, Predicate: vsa},
		sign.Statement{PredicateType: predicate.PolicyInput, Predicate: g.input},
	)
	if res.Secrets != nil {
		raw, err := facts.Encode(res.Secrets)
		if err != nil {
			return st.end(err, "")
		}
		stmts = append(stmts, sign.Statement{PredicateType: predicate.Secrets, Predicate: raw})
	}
	if g.vex != nil {
		stmts = append(stmts, sign.Statement{PredicateType: predicate.OpenVEX, Predicate: g.vex})
	}
	opts := append([]sign.Option{sign.WithRegistry(cfg.Registry)}, cfg.SignOptions...)
	if _, err := sign.AttestAll(ctx, d, cfg.Signer, stmts, opts...); err != nil {
		return st.end(cfg.Registry.Explain(err), "")
	}
	var kinds []string
	for _, s := range stmts {
		kinds = append(kinds, s.PredicateType)
	}
	sort.Strings(kinds)
	st.outputs["attestations"] = strings.Join(kinds, ",")
	for _, s := range stmts {
		res.Attested = append(res.Attested, s.PredicateType)
	}
	return st.end(nil, fmt.Sprintf("%d attestations", len(stmts)))
}

func sha256Of(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// writeReports writes SARIF, the GitLab reports and the reachability
// OpenVEX document, and returns the latter (nil when it states nothing).
func writeReports(cfg *Config, t *tracker, res *Result, findings *facts.Report, results []platformResult, dst name.Reference, started time.Time) ([]byte, error) {
	st := t.begin("reports", nil)
	sarif, err := report.SARIF(findings, dst.String(), cfg.ToolVersion)
	if err != nil {
		return nil, st.end(err, "")
	}
	var reports []*facts.Report
	for _, r := range results {
		reports = append(reports, r.report)
	}
	stated := cfg.Created // SOURCE_DATE_EPOCH keeps the document reproducible
	if stated.IsZero() {
		stated = cfg.Now()
	}
	vexDoc, statements, err := report.ReachabilityVEX(reports, report.VEXSubject{Repository: dst.Context().Name(), Digest: res.Digest}, cfg.ToolVersion, stated)
	if err != nil {
		return nil, st.end(err, "")
	}
	osName := ""
	for _, f := range findings.Findings {
		if f.Package.Type == "deb" || f.Package.Type == "apk" || f.Package.Type == "rpm" {
			osName = f.Package.Type
		}
	}
	cs, err := report.GitLabContainerScanning(findings, dst.String(), osName, cfg.ToolVersion, started, cfg.Now())
	if err != nil {
		return nil, st.end(err, "")
	}
	ds, err := report.GitLabDependencyScanning(findings, cfg.ToolVersion, started, cfg.Now())
	if err != nil {
		return nil, st.end(err, "")
	}
	type outFile struct {
		kind, file string
		data       []byte
	}
	files := []outFile{
		{"SARIF", "sealyard.sarif", sarif},
		{"GitLab container scanning", "gl-container-scanning-report.json", cs},
		{"GitLab dependency scanning", "gl-dependency-scanning-report.json", ds},
	}
	if vexDoc != nil {
		files = append(files, outFile{"reachability VEX", "reachability.openvex.json", vexDoc})
	}
	for _, f := range files {
		p := filepath.Join(cfg.OutDir, f.file)
		if err := atomicfile.WriteBytes(p, 0o644, f.data); err != nil {
			return nil, st.end(err, "")
		}
		res.output(f.kind, p)
		st.outputs[f.file] = sha256Of(f.data)
	}
	return vexDoc, st.end(nil, fmt.Sprintf("%d reachability statements", statements))
}

func writeSummary(cfg *Config, res *Result, dst name.Reference) error {
	sum := report.Summary{
		Image: dst.String(), Digest: res.Digest, Pushed: res.Pushed, Signed: res.Signer,
		Decision: res.Decision, Findings: res.Findings, Outputs: res.Outputs, Unsafe: cfg.UnsafeSettings, BaseUpdate: res.BaseUpdate,
		Secrets: res.Secrets, Packages: res.Packages, Attested: res.Attested,
	}
	var page bytes.Buffer
	if err := report.HTML(&page, sum); err != nil {
		return err
	}
	hp := filepath.Join(cfg.OutDir, "report.html")
	if err := atomicfile.WriteBytes(hp, 0o644, page.Bytes()); err != nil {
		return err
	}
	res.output("HTML report", hp)
	sum.Outputs = res.Outputs
	res.Summary = report.Markdown(sum)
	p := filepath.Join(cfg.OutDir, "summary.md")
	if err := atomicfile.WriteBytes(p, 0o644, res.Summary); err != nil {
		return err
	}
	res.output("summary", p)
	return nil
}

func writeJSON(cfg *Config, res *Result, kind, file string, v any) error {
	if err := writeFile(cfg, file, v); err != nil {
		return err
	}
	res.output(kind, filepath.Join(cfg.OutDir, file))
	return nil
}

func writeFile(cfg *Config, file string, v any) error {
	data, err := facts.Encode(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", file, err)
	}
	return atomicfile.WriteBytes(filepath.Join(cfg.OutDir, file), 0o644, data)
}

func writeBytes(cfg *Config, res *Result, kind, file string, data []byte) error {
	p := filepath.Join(cfg.OutDir, file)
	if err := atomicfile.WriteBytes(p, 0o644, data); err != nil {
		return err
	}
	res.output(kind, p)
	return nil
}

func hasGoFiles(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range m {
		if !strings.HasSuffix(f, "_test.go") {
			return true
		}
	}
	return false
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
