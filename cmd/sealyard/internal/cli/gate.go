package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/assess"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/report"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/secrets"
	"github.com/sealyard/sealyard/pipelines/verify"
)

type gateFlags struct {
	policy      policyFlags
	outputs     []string
	platforms   string
	sboms       []string
	scans       []string
	imageConfig string
	imageRef    string
	imageDigest string
	// vexFromAttestation takes the image's attested OpenVEX documents,
	// verified with signer, as --vex documents.
	vexFromAttestation bool
	signer             signerFlags
	db                 dbFlags
	reg                registryFlags
	secretsAllow       []string
	secretsReport      string
}

// policyFlags are the flags of every command that runs the gate.
type policyFlags struct {
	dirs       []string
	data       []string
	exceptions []string
	vex        []string
	baseline   string
	mode       string
	untriaged  string
	// imageBaseline is set by commands that resolve --baseline REF
	// themselves (verified attestations); elsewhere an image baseline is
	// an error, never ignored.
	imageBaseline bool
}

func (f *policyFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.dirs, "policy", nil, "add the .rego policies in this directory (repeatable; packages under sealyard.*)")
	fl.StringArrayVar(&f.data, "policy-data", nil, "YAML or JSON settings merged over policies/data.yaml (repeatable)")
	fl.StringArrayVar(&f.exceptions, "exceptions", nil, "exceptions file (YAML; repeatable)")
	fl.StringArrayVar(&f.vex, "vex", nil, "OpenVEX document (repeatable)")
	fl.StringVar(&f.baseline, "baseline", "", "the previous image's findings: a findings or decision JSON file, or (gate) an image REF whose signed vulnerability attestation, verified with --key or the keyless identity, is the baseline; its findings are known, others new, and the decision lists what this image fixed")
	fl.StringVar(&f.mode, "gate-mode", string(policy.Enforce), "enforce (deny on violations) or audit (report only)")
	fl.StringVar(&f.untriaged, "fail-on-untriaged", "", "deny when a finding at or above this severity has no fix applied, no VEX statement and no exception (settings.vulnerabilities.fail_on_untriaged)")
}

// engine compiles the policies and reads the exceptions, VEX documents and
// baseline the flags name.
func (f *policyFlags) engine(cmd *cobra.Command) (*policy.Engine, []policy.GateOption, error) {
	var opts []policy.Option
	for _, d := range f.dirs {
		opts = append(opts, policy.WithPolicyDir(d))
	}
	for _, d := range f.data {
		opts = append(opts, policy.WithDataFile(d))
	}
	if f.untriaged != "" {
		sev, err := facts.ParseSeverity(f.untriaged)
		if err != nil {
			return nil, nil, fmt.Errorf("--fail-on-untriaged: %w", err)
		}
		opts = append(opts, policy.WithData("--fail-on-untriaged", []byte(`{"settings":{"vulnerabilities":{"fail_on_untriaged":"`+strings.ToLower(sev)+`"}}}`)))
	}
	e, err := policy.New(cmd.Context(), opts...)
	if err != nil {
		return nil, nil, err
	}
	mode := policy.Mode(f.mode)
	if mode != policy.Enforce && mode != policy.Audit {
		return nil, nil, fmt.Errorf("--gate-mode %q: want enforce or audit", f.mode)
	}
	gopts := []policy.GateOption{policy.WithMode(mode)}
	for _, p := range f.exceptions {
		fh, err := os.Open(p)
		if err != nil {
			return nil, nil, fmt.Errorf("exceptions file: %w", err)
		}
		es, err := policy.ParseExceptions(fh, p)
		fh.Close()
		if err != nil {
			return nil, nil, err
		}
		gopts = append(gopts, policy.WithExceptions(es...))
	}
	for _, p := range f.vex {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, fmt.Errorf("VEX file: %w", err)
		}
		doc, err := policy.ParseVEX(data, p)
		if err != nil {
			return nil, nil, err
		}
		gopts = append(gopts, policy.WithVEX(doc))
	}
	if f.baselineIsImage() && !f.imageBaseline {
		return nil, nil, fmt.Errorf("--baseline %s: no such file (a baseline from a registry image is taken by sealyard gate)", f.baseline)
	}
	if f.baseline != "" && !f.baselineIsImage() {
		data, err := os.ReadFile(f.baseline)
		if err != nil {
			return nil, nil, fmt.Errorf("baseline: %w", err)
		}
		b, err := policy.ParseBaseline(data, f.baseline)
		if err != nil {
			return nil, nil, err
		}
		gopts = append(gopts, policy.WithBaseline(b))
	}
	return e, gopts, nil
}

// baselineIsImage reports whether --baseline names an image rather than
// a file: no file by that name exists and it parses as a registry
// reference.
func (f *policyFlags) baselineIsImage() bool {
	if f.baseline == "" {
		return false
	}
	if _, err := os.Stat(f.baseline); err == nil {
		return false
	}
	r, err := image.ParseRef(f.baseline)
	return err == nil && r.Scheme == image.Registry && strings.ContainsAny(f.baseline, "/:@")
}

// registryBaseline verifies the baseline image's signatures and
// attestations with the identity options and returns the baseline its
// vulnerability attestation makes.
func registryBaseline(cmd *cobra.Command, s *streams, f *gateFlags) (*policy.Baseline, error) {
	src, err := image.ParseRef(f.policy.baseline)
	if err != nil {
		return nil, err
	}
	reg, err := f.reg.client(s, src.Name.Context().RegistryStr())
	if err != nil {
		return nil, err
	}
	signer, err := f.signer.options(cmd)
	if err != nil {
		return nil, fmt.Errorf("--baseline %s: %w", f.policy.baseline, err)
	}
	b, err := assess.RegistryBaseline(cmd.Context(), src.Name.String(), append(signer, verify.WithRegistry(reg))...)
	if err != nil {
		return nil, err
	}
	s.logf("baseline: %d findings attested for %s", b.Len(), b.Source)
	return b, nil
}

func newGateCmd(s *streams) *cobra.Command {
	f := &gateFlags{}
	cmd := &cobra.Command{
		Use:   "gate [IMAGE]",
		Short: "Decide whether an image may ship, with Rego policies, exceptions and VEX",
		Long: `Evaluate sealyard's policies (policies/ in the repository, embedded in the
binary) and your own (--policy DIR) over the image's SBOM, findings,
configuration and provenance.

With IMAGE, the image is cataloged and scanned first. Without it, the gate
reads precomputed results: --sbom FILE (one per platform), --scan FILE (findings
JSON from sealyard scan) and --image-config FILE (the image's OCI config, as
crane config prints it).

VEX statements (OpenVEX, not_affected or fixed) remove findings; exceptions
(owner, reason and expiry required) waive violations; an expired exception
denies, naming its owner. The decision lists every violation with its rule id
and how to fix it, and the digests of image, database, policy and input.

Exit codes: 0 allow, 1 deny, 2 error (including a Rego error in a policy,
named by file and line).`,
		Example: `  sealyard gate oci-dir:out --db ./db -o table -o json=decision.json
  sealyard gate registry.example.com/app:v1 --exceptions exceptions.yaml --vex app.openvex.json
  sealyard gate --sbom sbom.syft.json --scan findings.json --image-config config.json --image-ref registry.example.com/app:v1`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGate(cmd, s, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.outputs, "output", "o", []string{"table"}, "FORMAT[=FILE]: table, json (the decision) or input (what the policies saw) (repeatable)")
	fl.StringVar(&f.platforms, "platform", "", "gate only these platforms of an index (comma-separated)")
	fl.StringArrayVar(&f.sboms, "sbom", nil, "precomputed SBOM file (repeatable, one per platform)")
	fl.StringArrayVar(&f.scans, "scan", nil, "precomputed findings JSON (repeatable, one per platform)")
	fl.StringVar(&f.imageConfig, "image-config", "", "the image's OCI config JSON (with --sbom/--scan)")
	fl.StringVar(&f.imageRef, "image-ref", "", "the image's reference (with --sbom/--scan)")
	fl.StringVar(&f.imageDigest, "image-digest", "", "the image's digest (with --sbom/--scan)")
	fl.StringArrayVar(&f.secretsAllow, "secrets-allow", nil, "allow-list for credentials found in the image's layers (repeatable; default .sealyard-secrets.yaml and .gitleaksignore when present)")
	fl.StringVar(&f.secretsReport, "secrets", "", "precomputed secrets report (sealyard secrets -o json) of the image (with --sbom/--scan)")
	fl.BoolVar(&f.vexFromAttestation, "vex-from-attestation", false, "use the image's attested OpenVEX documents (a registry image), verified with --key or a keyless identity, as --vex documents")
	f.signer.register(cmd)
	f.policy.register(cmd)
	f.db.register(cmd)
	f.reg.register(cmd)
	return cmd
}

func runGate(cmd *cobra.Command, s *streams, f *gateFlags, args []string) error {
	outs, err := parseOutputs(f.outputs, []string{"table", "json", "input"})
	if err != nil {
		return err
	}
	f.policy.imageBaseline = true
	engine, gopts, err := f.policy.engine(cmd)
	if err != nil {
		return err
	}
	if f.policy.baselineIsImage() {
		f.reg.otherHost = registryHost(f.policy.baseline)
		b, err := registryBaseline(cmd, s, f)
		if err != nil {
			return err
		}
		gopts = append(gopts, policy.WithBaseline(b))
	}
	if f.vexFromAttestation {
		if len(args) != 1 {
			return fmt.Errorf("--vex-from-attestation needs an IMAGE in a registry")
		}
		docs, err := attestedVEX(cmd, s, f, args[0])
		if err != nil {
			return err
		}
		gopts = append(gopts, policy.WithVEX(docs...))
	}
	var in policy.Input
	switch {
	case len(args) == 1:
		if len(f.sboms)+len(f.scans) > 0 || f.imageConfig != "" {
			return fmt.Errorf("give an IMAGE or --sbom/--scan/--image-config, not both")
		}
		in, err = gateInputFromImage(cmd, s, f, args[0])
	default:
		in, err = gateInputFromFiles(cmd, s, f)
	}
	if err != nil {
		return err
	}
	d, seen, err := engine.Gate(cmd.Context(), in, append(gopts, policy.WithNow(time.Now()))...)
	if err != nil {
		return err
	}
	for _, o := range outs {
		err := o.write(s.out, o.file, func(w io.Writer) error {
			switch o.format {
			case "json":
				return writeJSON(w, d)
			case "input":
				return writeJSON(w, seen)
			default:
				return decisionTable(w, d)
			}
		})
		if err != nil {
			return err
		}
	}
	if !d.Allowed() {
		return denied("denied: %d violation(s); see the decision for how to fix each", len(d.Violations))
	}
	return nil
}

// attestedVEX verifies the image's signature and OpenVEX attestations with
// the signer flags and returns the documents.
func attestedVEX(cmd *cobra.Command, s *streams, f *gateFlags, ref string) ([]*policy.VEXDocument, error) {
	src, err := image.ParseRef(ref)
	if err != nil {
		return nil, err
	}
	if src.Scheme != image.Registry {
		return nil, fmt.Errorf("--vex-from-attestation: %s is not a registry image", ref)
	}
	reg, err := f.reg.client(s, src.Name.Context().RegistryStr())
	if err != nil {
		return nil, err
	}
	signer, err := f.signer.options(cmd)
	if err != nil {
		return nil, err
	}
	res, err := verify.Verify(cmd.Context(), src.Name.String(), append([]verify.Option{verify.WithRegistry(reg), verify.WithRequire("vex")}, signer...)...)
	if err != nil {
		return nil, fmt.Errorf("--vex-from-attestation: %w", err)
	}
	docs, err := assess.AttestedVEX(res)
	if err != nil {
		return nil, err
	}
	s.logf("using %d attested OpenVEX document(s) of %s", len(docs), res.Digest)
	return docs, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func gateInputFromImage(cmd *cobra.Command, s *streams, f *gateFlags, ref string) (policy.Input, error) {
	db, err := f.db.open(s)
	if err != nil {
		return policy.Input{}, err
	}
	defer db.Close()
	loaded, name, err := loadImage(cmd, s, ref, f.platforms, &f.reg)
	if err != nil {
		return policy.Input{}, err
	}
	defer loaded.Close()
	allow, err := secrets.LoadAllowLists(f.secretsAllow)
	if err != nil {
		return policy.Input{}, err
	}
	s.logf("cataloging %s", ref)
	sc, err := assess.Image(cmd.Context(), ref, loaded.Artifact, db, cienv.Detect(cmd.Context(), ".", s.getenv),
		&secrets.Options{Allow: allow}, sbom.WithName(name), sbom.WithToolVersion(versionInfo().Version))
	if err != nil {
		return policy.Input{}, err
	}
	return sc.Input, nil
}

func gateInputFromFiles(cmd *cobra.Command, s *streams, f *gateFlags) (policy.Input, error) {
	if f.imageConfig == "" {
		return policy.Input{}, fmt.Errorf("give an IMAGE, or --image-config with --sbom and --scan")
	}
	files := assess.Files{Reference: f.imageRef, Digest: f.imageDigest}
	raw, err := os.ReadFile(f.imageConfig)
	if err != nil {
		return policy.Input{}, fmt.Errorf("image config: %w", err)
	}
	files.Config = raw
	for _, p := range f.sboms {
		data, err := os.ReadFile(p)
		if err != nil {
			return policy.Input{}, fmt.Errorf("SBOM: %w", err)
		}
		files.SBOMs, files.SBOMNames = append(files.SBOMs, data), append(files.SBOMNames, p)
	}
	for _, p := range f.scans {
		data, err := os.ReadFile(p)
		if err != nil {
			return policy.Input{}, fmt.Errorf("findings: %w", err)
		}
		files.Findings, files.FindingsNames = append(files.Findings, data), append(files.FindingsNames, p)
	}
	if f.secretsReport != "" {
		data, err := os.ReadFile(f.secretsReport)
		if err != nil {
			return policy.Input{}, fmt.Errorf("secrets report: %w", err)
		}
		files.Secrets, files.SecretsName = data, f.secretsReport
	}
	in, err := assess.FromFiles(files, cienv.Detect(cmd.Context(), ".", s.getenv))
	if err != nil {
		return policy.Input{}, fmt.Errorf("%s: %w", f.imageConfig, err)
	}
	return in, nil
}

func decisionTable(w io.Writer, d *policy.Decision) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	verdict := strings.ToUpper(d.Decision)
	if d.Mode == policy.Audit && d.Verdict == "fail" {
		verdict += " (audit mode: the policies failed, nothing is denied)"
	}
	fmt.Fprintf(tw, "DECISION\t%s\n", verdict)
	fmt.Fprintf(tw, "IMAGE\t%s %s\n", d.Image.Reference, d.Image.Digest)
	if d.Risk != nil {
		fmt.Fprintf(tw, "RISK\t%s\n", report.RiskText(d.Risk))
	}
	if c := d.Counts; c.NewFindings+c.KnownFindings+c.FixedFindings > 0 {
		fmt.Fprintf(tw, "BASELINE\t%d new, %d fixed, %d known\n", len(d.New), len(d.Fixed), c.KnownFindings)
		for _, r := range d.New {
			fmt.Fprintf(tw, "  new\t%s %s %s\n", r.ID, r.Package, r.Version)
		}
		for _, r := range d.Fixed {
			fmt.Fprintf(tw, "  fixed\t%s %s %s\n", r.ID, r.Package, r.Version)
		}
	}
	for _, fp := range d.NewSecrets {
		fmt.Fprintf(tw, "  new credential\t%s\n", fp)
	}
	for _, fp := range d.FixedSecrets {
		fmt.Fprintf(tw, "  credential gone\t%s\n", fp)
	}
	section := func(title string, vs []policy.Violation) {
		if len(vs) == 0 {
			return
		}
		fmt.Fprintf(tw, "\n%s\n", title)
		for _, v := range vs {
			fmt.Fprintf(tw, "  %s\t%s\n", v.Rule, v.Message)
		}
	}
	section("VIOLATIONS", d.Violations)
	section("WARNINGS", d.Warnings)
	if len(d.Exceptions) > 0 {
		fmt.Fprintf(tw, "\nEXCEPTIONS APPLIED\n")
		for _, e := range d.Exceptions {
			fmt.Fprintf(tw, "  %s\towner %s, expires %s, waived %d: %s\n", e.Selector, e.Owner, e.Expires, len(e.Suppressed), e.Reason)
		}
	}
	if len(d.VEX) > 0 {
		fmt.Fprintf(tw, "\nVEX APPLIED\n")
		for _, v := range d.VEX {
			fmt.Fprintf(tw, "  %s\t%s (%s) from %s, %d finding(s)\n", v.Vulnerability, v.Status, v.Justification, v.Document, len(v.Findings))
		}
	}
	c := d.Counts
	fmt.Fprintf(tw, "\n%d findings: %d violations, %d warnings, %d waived by exceptions, %d removed by VEX\n", c.Findings, c.Violations, c.Warnings, c.SuppressedByException, c.SuppressedByVEX)
	fmt.Fprintf(tw, "digests: db %s, policy %s, input %s\n", d.Digests.DB, d.Digests.Policy, d.Digests.Input)
	return tw.Flush()
}
