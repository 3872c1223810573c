package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/assess"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/sign"
	"github.com/sealyard/sealyard/pipelines/verify"
)

// signerFlags say whose signatures to trust: a key, or a keyless
// identity and the trusted root that certifies it.
type signerFlags struct {
	key            string
	identity       string
	identityRegexp string
	issuer         string
	trust          trustFlags
	skipSCT        bool
	skipTlog       bool
}

func (f *signerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "public key: cosign.pub, env://NAME, a KMS URI or k8s://NS/SECRET")
	fl.StringVar(&f.identity, "certificate-identity", "", "keyless: the identity (SAN) the certificate must name")
	fl.StringVar(&f.identityRegexp, "certificate-identity-regexp", "", "keyless: a regular expression the identity must match")
	fl.StringVar(&f.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer the certificate must name")
	f.trust.register(cmd)
	fl.BoolVar(&f.skipSCT, "insecure-ignore-sct", false, "keyless: accept certificates without an SCT (a private Fulcio that logs to no CT log; unsafe)")
	fl.BoolVar(&f.skipTlog, "skip-tlog-unsafe", false, "accept signatures no transparency log recorded (signed offline)")
	fl.BoolVar(&f.skipTlog, "insecure-ignore-tlog", false, "alias of --skip-tlog-unsafe, as cosign names it")
}

// options turns the flags into verification options.
func (f *signerFlags) options(cmd *cobra.Command) ([]verify.Option, error) {
	var opts []verify.Option
	switch {
	case f.key != "" && (f.identity != "" || f.identityRegexp != ""):
		return nil, fmt.Errorf("give --key or a keyless identity, not both")
	case f.key != "":
		v, err := sign.LoadVerifier(cmd.Context(), f.key)
		if err != nil {
			return nil, err
		}
		opts = append(opts, verify.WithKey(v, f.key))
		// A key's signatures need the trusted root only to check the
		// transparency log.
		if !f.skipTlog || f.trust.given() {
			tm, err := f.trust.load()
			if err != nil {
				return nil, err
			}
			opts = append(opts, verify.WithTrustedMaterial(tm))
		}
	default:
		tm, err := f.trust.load()
		if err != nil {
			return nil, err
		}
		opts = append(opts, verify.WithKeyless(f.identity, f.identityRegexp, f.issuer, tm))
	}
	if f.skipTlog {
		opts = append(opts, verify.WithoutTlogUnsafe())
	}
	if f.skipSCT {
		opts = append(opts, verify.WithoutSCTUnsafe())
	}
	return opts, nil
}

type verifyFlags struct {
	signerFlags
	require      []string
	gate         bool
	allowAudit   bool
	policyDigest string
	policy       policyFlags
	outputs      []string
	reg          registryFlags
}

func newVerifyCmd(s *streams) *cobra.Command {
	f := &verifyFlags{}
	cmd := &cobra.Command{
		Use:   "verify REF",
		Short: "Verify an image before deploy: signature, required attestations, and optionally the gate",
		Long: `Resolve REF to a digest and check, trusting nothing else:
  - a signature on that digest verifies with --key, or comes from the keyless
    identity (--certificate-identity[-regexp] and --certificate-oidc-issuer);
  - the attestations named by --require (sbom, vuln, provenance, decision, vex)
    exist,
    are signed the same way, and are about that digest;
  - --require decision accepts only a decision that PASSED the gate for this
    digest (and, with --policy-digest, under that policy bundle); a decision
    that FAILED in audit mode only with --allow-audit-decision;
  - --gate replays the attested decision: it recomputes it from the attested
    policy input (the SBOMs and findings) with the policies, and compares it
    byte for byte with the attested decision;
  - --policy DIR gates the attested SBOMs and findings anew with other policies.

When a check fails, the message says what was expected and what was found.
Exit codes: 0 verified, 1 verification failed or the gate denied, 2 error.`,
		Example: `  sealyard verify registry.example.com/app:v1 --key cosign.pub --require sbom,vuln,provenance,decision
  sealyard verify registry.example.com/app@sha256:... --certificate-identity-regexp '^https://github.com/acme/' \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com
  sealyard verify registry.example.com/app:v1 --key cosign.pub --trusted-root trusted_root.json --require decision --gate
  sealyard verify 127.0.0.1:5000/app:v1 --key cosign.pub --skip-tlog-unsafe --gate --require sbom,vuln`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVerify(cmd, s, f, args[0])
		},
	}
	fl := cmd.Flags()
	f.signerFlags.register(cmd)
	fl.StringSliceVar(&f.require, "require", nil, "attestations that must be present: sbom, vuln, provenance, decision, vex (comma-separated)")
	fl.BoolVar(&f.gate, "gate", false, "replay the attested decision from the attested policy input and compare it (implies --require decision)")
	fl.BoolVar(&f.allowAudit, "allow-audit-decision", false, "accept a decision that FAILED the policies in audit mode (the image shipped ungated; unsafe)")
	fl.StringVar(&f.policyDigest, "policy-digest", "", "require the attested decision to have used this policy bundle (sha256:...)")
	fl.StringArrayVarP(&f.outputs, "output", "o", []string{"table"}, "FORMAT[=FILE]: table or json (repeatable)")
	f.policy.register(cmd)
	f.reg.register(cmd)
	return cmd
}

func runVerify(cmd *cobra.Command, s *streams, f *verifyFlags, ref string) error {
	ctx := cmd.Context()
	outs, err := parseOutputs(f.outputs, []string{"table", "json"})
	if err != nil {
		return err
	}
	reg, err := f.reg.client(s, registryHost(ref))
	if err != nil {
		return err
	}
	require := f.require
	if f.gate {
		require = append(require, "decision")
	}
	opts := []verify.Option{verify.WithRegistry(reg), verify.WithRequire(require...)}
	if f.allowAudit {
		opts = append(opts, verify.WithAuditDecisionsUnsafe())
	}
	if f.policyDigest != "" {
		opts = append(opts, verify.WithPolicyDigest(f.policyDigest))
	}
	signer, err := f.signerFlags.options(cmd)
	if err != nil {
		return err
	}
	res, err := verify.Verify(ctx, ref, append(opts, signer...)...)
	if err != nil {
		if errors.Is(err, verify.ErrVerification) {
			return denied("%v", err)
		}
		return err
	}
	var decision *policy.Decision
	var replayErr error
	switch {
	case f.gate:
		engine, _, err := f.policy.engine(cmd)
		if err != nil {
			return err
		}
		rp, err := assess.Replay(ctx, res, engine)
		if rp != nil {
			decision = rp.Decision
		}
		if err != nil && !errors.Is(err, verify.ErrVerification) {
			return err
		}
		replayErr = err
	case len(f.policy.dirs) > 0:
		decision, err = gateAttested(cmd, s, f, res, reg)
		if err != nil {
			return err
		}
	}
	for _, o := range outs {
		err := o.write(s.out, o.file, func(w io.Writer) error {
			if o.format == "json" {
				return writeJSON(w, struct {
					*verify.Result
					Gate *policy.Decision `json:"gate,omitempty"`
				}{res, decision})
			}
			return verifyTable(w, res, decision)
		})
		if err != nil {
			return err
		}
	}
	if replayErr != nil {
		return denied("%v", replayErr)
	}
	if decision != nil && !decision.Allowed() {
		return denied("verified, but the gate denies it on the attested SBOM and findings: %d violation(s)", len(decision.Violations))
	}
	return nil
}

// gateAttested gates what the verified attestations say anew, with the
// policies the flags name.
func gateAttested(cmd *cobra.Command, s *streams, f *verifyFlags, res *verify.Result, reg registryClient) (*policy.Decision, error) {
	engine, gopts, err := f.policy.engine(cmd)
	if err != nil {
		return nil, err
	}
	parsed, err := name.ParseReference(res.Reference, reg.NameOptions()...)
	if err != nil {
		return nil, err
	}
	ref := "registry:" + parsed.Context().Digest(res.Digest).String()
	l, err := image.Load(cmd.Context(), ref, image.WithRegistry(reg))
	if err != nil {
		return nil, err
	}
	defer l.Close()
	img, err := policy.ImageFacts(ref, l.Artifact)
	if err != nil {
		return nil, err
	}
	in, err := assess.FromAttestations(img, assess.Provenance(cienv.Detect(cmd.Context(), ".", s.getenv), img), res)
	if err != nil {
		return nil, err
	}
	d, _, err := engine.Gate(cmd.Context(), in, append(gopts, policy.WithNow(time.Now()))...)
	return d, err
}

func verifyTable(w io.Writer, r *verify.Result, d *policy.Decision) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "VERIFIED\t%s\n", r.Reference)
	fmt.Fprintf(tw, "DIGEST\t%s\n", r.Digest)
	for _, sg := range r.Signatures {
		logged := "not in a transparency log"
		if sg.Logged {
			logged = "in the transparency log"
		}
		fmt.Fprintf(tw, "SIGNATURE\tby %s, %s\n", sg.Signer, logged)
	}
	for _, a := range r.Attestations {
		fmt.Fprintf(tw, "ATTESTATION\t%s by %s\n", a.PredicateType, a.Signer)
	}
	if dc := r.Decision; dc != nil {
		fmt.Fprintf(tw, "DECISION\t%s (%s mode)\n", dc.Result, dc.Mode)
		fmt.Fprintf(tw, "  policy\t%s\n", dc.Policy)
		fmt.Fprintf(tw, "  db\t%s\n", dc.DB)
		fmt.Fprintf(tw, "  input\t%s\n", dc.Input)
		fmt.Fprintf(tw, "  decision\t%s\n", dc.Decision)
		if len(dc.Unsafe) > 0 {
			fmt.Fprintf(tw, "  unsafe settings\t%s\n", strings.Join(dc.Unsafe, ", "))
		}
	}
	if d != nil {
		fmt.Fprintf(tw, "GATE\t%s (%d violations, %d warnings)\n", d.Decision, len(d.Violations), len(d.Warnings))
		for _, v := range d.Violations {
			fmt.Fprintf(tw, "  %s\t%s\n", v.Rule, v.Message)
		}
	}
	return tw.Flush()
}
