package cli

import (
	"encoding/json"
	"fmt"
	"github.com/sigstore/sigstore-go/pkg/root"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/predicate"
	"github.com/sealyard/sealyard/pipelines/publish"
	"github.com/sealyard/sealyard/pipelines/sign"
)

// signFlags are shared by sign and attest.
type signFlags struct {
	key       string
	keyless   bool
	fulcioURL string
	rekorURL  string
	skipTlog  bool
	referrers string
	trust     trustFlags
	reg       registryFlags
	// trusted is the trusted root a keyless signer loaded.
	trusted root.TrustedMaterial
}

func (f *signFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "signing key: a cosign.key file, env://NAME, a KMS URI (hashivault://, awskms://, gcpkms://, azurekms://) or k8s://NS/SECRET; its password comes from COSIGN_PASSWORD")
	fl.BoolVar(&f.keyless, "keyless", false, "sign keyless: a Fulcio certificate for the OIDC identity in SIGSTORE_ID_TOKEN or the GitHub Actions / GitLab CI token environment")
	fl.StringVar(&f.fulcioURL, "fulcio-url", sign.DefaultFulcioURL, "certificate authority for keyless signing")
	fl.StringVar(&f.rekorURL, "rekor-url", sign.DefaultRekorURL, "transparency log to record signatures in")
	fl.BoolVar(&f.skipTlog, "skip-tlog-unsafe", false, "do not record the signature in a transparency log (offline use; verifiers must then accept unlogged signatures)")
	fl.StringVar(&f.referrers, "referrers", string(sign.ReferrersAuto), "also store as OCI 1.1 referrers: auto (when the registry serves them) or never")
	f.trust.register(cmd)
	f.reg.register(cmd)
}

func (f *signFlags) options(s *streams, d name.Digest) ([]sign.Option, error) {
	reg, err := f.reg.client(s, d.Context().RegistryStr())
	if err != nil {
		return nil, err
	}
	return append([]sign.Option{sign.WithRegistry(reg)}, f.logOptions()...), nil
}

// logOptions are the transparency log and storage options.
func (f *signFlags) logOptions() []sign.Option {
	opts := []sign.Option{sign.WithRekorURL(f.rekorURL), sign.WithReferrers(sign.ReferrersMode(f.referrers))}
	if f.trusted != nil {
		opts = append(opts, sign.WithTrustedMaterial(f.trusted))
	}
	if f.skipTlog {
		opts = append(opts, sign.WithoutTlogUnsafe())
	}
	return opts
}

func (f *signFlags) signer(cmd *cobra.Command, s *streams) (sign.Signer, error) {
	switch {
	case f.keyless && f.key != "":
		return nil, fmt.Errorf("give --key or --keyless, not both")
	case f.keyless:
		if f.skipTlog {
			return nil, fmt.Errorf("keyless signatures are always logged: --skip-tlog-unsafe does not apply")
		}
		token, err := sign.IDToken(cmd.Context(), s.getenv, http.DefaultClient)
		if err != nil {
			return nil, err
		}
		// The trusted root tells this run's earlier signatures from
		// planted ones; without it, a rerun signs again.
		if tm, err := f.trust.load(); err != nil {
			s.logf("warning: earlier keyless signatures cannot be recognised, a rerun adds a signature: %v", err)
		} else {
			f.trusted = tm
		}
		return sign.NewKeyless(token, f.fulcioURL, f.rekorURL)
	case f.key == "":
		return nil, fmt.Errorf("give --key (cosign.key, env://NAME or a KMS URI) or --keyless")
	default:
		return sign.LoadKey(cmd.Context(), f.key, sign.PasswordFromEnv(s.getenv))
	}
}

// digestRef parses a reference that must name a digest: signatures and
// attestations bind to digests, never to tags.
func digestRef(ref string, f *registryFlags) (name.Digest, error) {
	r, err := publish.Destination(ref, nil)
	if err != nil {
		return name.Digest{}, err
	}
	d, ok := r.(name.Digest)
	if !ok {
		return name.Digest{}, fmt.Errorf("%q names a tag; sign and attest a digest (IMAGE@sha256:..., as sealyard push prints it), so the signature cannot follow a moving tag", ref)
	}
	return d, nil
}

type signCmdFlags struct {
	signFlags
	annotations []string
	recursive   bool
}

func newSignCmd(s *streams) *cobra.Command {
	f := &signCmdFlags{}
	cmd := &cobra.Command{
		Use:   "sign IMAGE@DIGEST",
		Short: "Sign an image digest with a cosign key",
		Long: `Sign IMAGE@DIGEST (an image or an index) the way cosign does, so stock
cosign verifies it. With --recursive each platform image of an index is
signed too. Signing is idempotent: a signature this key already made over the
same payload is kept, not duplicated.

The signature is recorded in the Rekor transparency log unless
--skip-tlog-unsafe is given (offline).`,
		Example: `  COSIGN_PASSWORD=... sealyard sign registry.example.com/app@sha256:... --key cosign.key
  sealyard sign registry.example.com/app@sha256:... --key awskms:///alias/release --recursive -a release=v1.2.3
  sealyard sign 127.0.0.1:5000/app@sha256:... --key cosign.key --skip-tlog-unsafe`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := digestRef(args[0], &f.reg)
			if err != nil {
				return err
			}
			k, err := f.signer(cmd, s)
			if err != nil {
				return err
			}
			opts, err := f.options(s, d)
			if err != nil {
				return err
			}
			ann, err := keyValues("-a", f.annotations)
			if err != nil {
				return err
			}
			opts = append(opts, sign.WithAnnotations(ann))
			if f.recursive {
				opts = append(opts, sign.WithRecursive())
			}
			res, err := sign.Image(cmd.Context(), d, k, opts...)
			if err != nil {
				return err
			}
			for _, t := range res.Digests {
				fmt.Fprintln(s.out, t.String())
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringArrayVarP(&f.annotations, "annotation", "a", nil, "annotation KEY=VALUE in the signed payload (repeatable)")
	cmd.Flags().BoolVar(&f.recursive, "recursive", false, "also sign each platform image of an index")
	return cmd
}

type attestCmdFlags struct {
	signFlags
	typ       string
	predicate string
}

func newAttestCmd(s *streams) *cobra.Command {
	f := &attestCmdFlags{}
	cmd := &cobra.Command{
		Use:   "attest IMAGE@DIGEST --type TYPE --predicate FILE",
		Short: "Attest an image digest: an in-toto statement in a signed DSSE envelope",
		Long: `Wrap the predicate in FILE in an in-toto v1 statement about IMAGE@DIGEST,
sign it in a DSSE envelope with the key and store it where cosign finds
attestations. An attestation replaces the earlier one of its type.

Types: cyclonedx, spdx, vuln (cosign's vuln predicate), slsaprovenance1
(SLSA provenance v1), vsa (SLSA verification summary), or a predicate type URI.`,
		Example: `  sealyard attest registry.example.com/app@sha256:... --type cyclonedx --predicate sbom.cdx.json --key cosign.key
  sealyard attest registry.example.com/app@sha256:... --type slsaprovenance1 --predicate provenance.json --key cosign.key`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := digestRef(args[0], &f.reg)
			if err != nil {
				return err
			}
			pt, err := predicate.ParseType(f.typ)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(f.predicate)
			if err != nil {
				return fmt.Errorf("predicate: %w", err)
			}
			if !json.Valid(data) {
				return fmt.Errorf("predicate %q is not JSON", f.predicate)
			}
			if pt == predicate.Vuln {
				if data, err = vulnPredicate(data); err != nil {
					return err
				}
			}
			k, err := f.signer(cmd, s)
			if err != nil {
				return err
			}
			opts, err := f.options(s, d)
			if err != nil {
				return err
			}
			if _, err := sign.Attest(cmd.Context(), d, k, pt, json.RawMessage(data), opts...); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "%s %s\n", d, pt)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.typ, "type", "", "predicate type: cyclonedx, spdx, vuln, slsaprovenance1, vsa or a URI")
	cmd.Flags().StringVar(&f.predicate, "predicate", "", "file holding the predicate (JSON)")
	return cmd
}

// vulnPredicate wraps a sealyard findings document (sealyard scan -o json)
// in cosign's vuln predicate; any other document is taken as the predicate.
func vulnPredicate(data []byte) ([]byte, error) {
	var head struct {
		SchemaVersion string `json:"schemaVersion"`
	}
	if json.Unmarshal(data, &head) != nil || head.SchemaVersion != facts.FindingsSchema {
		return data, nil
	}
	var rep facts.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, err
	}
	now := time.Now()
	return predicate.NewVuln(&rep, versionInfo().Version, "", "", now, now)
}

func newKeygenCmd(s *streams) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Generate a cosign key pair (cosign.key, encrypted with COSIGN_PASSWORD, and cosign.pub)",
		Long: `Write a cosign-compatible key pair: PREFIX.key, encrypted with the password
in COSIGN_PASSWORD (mode 0600), and PREFIX.pub. Existing files are never
overwritten.`,
		Example: "  COSIGN_PASSWORD=$(openssl rand -hex 16) sealyard keygen\n  sealyard keygen --output-key-prefix release",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw := s.getenv("COSIGN_PASSWORD")
			if pw == "" {
				s.logf("warning: COSIGN_PASSWORD is empty; the key is encrypted with an empty password")
			}
			priv, pub, err := sign.GenerateKeyPair(prefix, []byte(pw))
			if err != nil {
				return err
			}
			s.logf("private key written to %s, public key to %s", priv, pub)
			fmt.Fprintln(s.out, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "output-key-prefix", "cosign", "file name prefix of the key pair")
	return cmd
}
