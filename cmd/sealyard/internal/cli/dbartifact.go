package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/dbartifact"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

func newDBPushCmd(s *streams) *cobra.Command {
	var dir string
	f := &signFlags{}
	cmd := &cobra.Command{
		Use:   "push REPOSITORY:TAG",
		Short: "Store the database in a registry as a signed OCI artifact",
		Long: `Push the database in --db as an OCI artifact (artifact type
` + dbartifact.ArtifactType + `): its config is the database's status (schema,
build time, providers, counts, digest), its one layer the vulnerability.db
file, so the layer digest is the database digest scans record. The
artifact's digest is signed with --key or --keyless, as sealyard sign does.
The same database gives the same artifact digest. It prints
REPOSITORY@DIGEST: what db pull and the CI templates take.`,
		Example: `  sealyard db push registry.example.com/security/sealyard-db:2026-12-06 --key cosign.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				dir = vulndb.DefaultDir(s.getenv)
			}
			reg, err := f.reg.client(s, registryHost(args[0]))
			if err != nil {
				return err
			}
			signer, err := f.signer(cmd, s)
			if err != nil {
				return err
			}
			p, err := dbartifact.Push(cmd.Context(), dir, args[0], reg, signer, f.logOptions()...)
			if err != nil {
				return err
			}
			s.logf("pushed and signed the database %s (%s)", p.DB.Digest, p.DB.SchemaVersion)
			fmt.Fprintln(s.out, p.Reference)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "db", "", "vulnerability database directory (default $SEALYARD_DB_DIR or the user cache)")
	f.register(cmd)
	return cmd
}

func newDBPullCmd(s *streams) *cobra.Command {
	var dir string
	f := &signerFlags{}
	var reg registryFlags
	cmd := &cobra.Command{
		Use:   "pull REF",
		Short: "Install the database from a signed OCI artifact, verified first",
		Long: `Verify the artifact's signature (--key or a keyless identity, as sealyard
verify takes them), check that it is a sealyard database artifact whose layer
is the digest it claims, download it (checked against that digest) and
install it in --db: the database there is replaced only by one that opens and
is intact. Scans then record the artifact (REPOSITORY@DIGEST) beside the
database digest. An artifact that does not verify is an error (exit 2), and
nothing is installed.

Like run, it takes a flag the command line does not set from its SEALYARD_
variable (--trusted-root from SEALYARD_TRUSTED_ROOT, --ca-file from
SEALYARD_CA_FILE), so a CI job sets them once for both; the settings that
weaken a check (--skip-tlog-unsafe and the like) count only as flags.`,
		Example: `  sealyard db pull registry.example.com/security/sealyard-db@sha256:... --key cosign.pub`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applySettings(cmd, s, "", false); err != nil {
				return err
			}
			if dir == "" {
				dir = vulndb.DefaultDir(s.getenv)
			}
			client, err := reg.client(s, registryHost(args[0]))
			if err != nil {
				return err
			}
			opts, err := f.options(cmd)
			if err != nil {
				return err
			}
			st, err := dbartifact.Pull(cmd.Context(), args[0], dir, client, opts...)
			if err != nil {
				return err
			}
			s.logf("installed the database %s from %s in %s", st.Digest, st.Artifact, st.Dir)
			return writeJSON(s.out, st)
		},
	}
	cmd.Flags().StringVar(&dir, "db", "", "vulnerability database directory (default $SEALYARD_DB_DIR or the user cache)")
	f.register(cmd)
	reg.register(cmd)
	return cmd
}
