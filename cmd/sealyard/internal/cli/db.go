package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/vulndb"
)

func newDBCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Build, import, update and inspect the vulnerability database",
		Long: `Manage grype's v6 vulnerability database without the internet.

The database lives in --db DIR (default $SEALYARD_DB_DIR, or sealyard/db in the
user cache directory), in grype's own layout, so grype can read it too
(GRYPE_DB_CACHE_DIR=DIR). Nothing is downloaded unless you run db update.`,
		Example: `  sealyard db build --osv ./vulndb/data/osv --out ~/.cache/sealyard/db
  sealyard db import vulnerability-db_v6.1.10_2026-11-28T00:00:00Z.tar.zst
  sealyard db status -o json
  sealyard db push registry.example.com/security/sealyard-db:latest --key cosign.key
  sealyard db pull registry.example.com/security/sealyard-db@sha256:... --key cosign.pub`,
	}
	cmd.AddCommand(newDBBuildCmd(s), newDBImportCmd(s), newDBUpdateCmd(s), newDBStatusCmd(s), newDBPushCmd(s), newDBPullCmd(s))
	return cmd
}

func newDBBuildCmd(s *streams) *cobra.Command {
	var osvDirs []string
	var out string
	cmd := &cobra.Command{
		Use:   "build --osv DIR [--osv DIR ...] [--out DIR]",
		Short: "Build a database from OSV records with grype's own builder",
		Long: `Turn OSV records (*.json, searched recursively) into a grype v6 database
with grype's builder and OSV transformers. The Go vulnerability database is
the main source: 'go mod download -json golang.org/x/vulndb@VERSION' gives a
folder whose data/osv holds every Go advisory. The database in --out is
replaced only once the new one is complete.`,
		Example: `  dir=$(go mod download -json golang.org/x/vulndb@` + vulndb.GoVulnDBVersion + ` | jq -r .Dir)
  sealyard db build --osv "$dir/data/osv" --out ./db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(osvDirs) == 0 {
				return fmt.Errorf("give at least one --osv DIR")
			}
			if out == "" {
				out = vulndb.DefaultDir(s.getenv)
			}
			s.logf("building the vulnerability database in %s from %s", out, strings.Join(osvDirs, ", "))
			start := time.Now()
			res, err := vulndb.Build(cmd.Context(), osvDirs, out)
			if err != nil {
				return err
			}
			s.logf("built %d advisories from %d records in %s", res.Status.Counts.Vulnerabilities, res.Records, time.Since(start).Round(time.Millisecond))
			return statusText(s.out, res.Status)
		},
	}
	cmd.Flags().StringArrayVar(&osvDirs, "osv", nil, "folder of OSV records (repeatable)")
	cmd.Flags().StringVar(&out, "out", "", "database directory (default $SEALYARD_DB_DIR or the user cache)")
	return cmd
}

func newDBImportCmd(s *streams) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Install a database archive as Anchore publishes them",
		Long: `Install a grype v6 database archive (.tar.gz or .tar.zst holding
vulnerability.db, as Anchore publishes them) or a bare vulnerability.db. The
current database is replaced only if the new one is intact and of schema v6.`,
		Example: "  sealyard db import vulnerability-db_v6.1.10_2026-11-28T00:00:00Z.tar.zst --db ./db",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				dir = vulndb.DefaultDir(s.getenv)
			}
			st, err := vulndb.Import(cmd.Context(), args[0], dir)
			if err != nil {
				return err
			}
			return statusText(s.out, st)
		},
	}
	cmd.Flags().StringVar(&dir, "db", "", "database directory (default $SEALYARD_DB_DIR or the user cache)")
	return cmd
}

func newDBUpdateCmd(s *streams) *cobra.Command {
	var dir, listing, caCert string
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Fetch the latest database from Anchore's listing (needs network)",
		Long: `Fetch the latest grype v6 database from Anchore's listing when it is newer
than the one in --db. This is the only command that downloads anything;
offline environments use db build or db import instead.`,
		Example: "  sealyard db update\n  sealyard db update --listing-url https://mirror.example.com/grype/databases",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				dir = vulndb.DefaultDir(s.getenv)
			}
			var opts []vulndb.UpdateOption
			if listing != "" {
				opts = append(opts, vulndb.WithListingURL(listing))
			}
			if caCert != "" {
				opts = append(opts, vulndb.WithUpdateCACert(caCert))
			}
			updated, st, err := vulndb.Update(cmd.Context(), dir, opts...)
			if err != nil {
				return err
			}
			if updated {
				s.logf("database updated")
			} else {
				s.logf("database already up to date")
			}
			return statusText(s.out, st)
		},
	}
	cmd.Flags().StringVar(&dir, "db", "", "database directory (default $SEALYARD_DB_DIR or the user cache)")
	cmd.Flags().StringVar(&listing, "listing-url", "", "where the database listing is (default Anchore's)")
	cmd.Flags().StringVar(&caCert, "ca-cert", "", "trust this PEM certificate when fetching")
	return cmd
}

func newDBStatusCmd(s *streams) *cobra.Command {
	var dir, format string
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "Show the database's schema, build time, providers, counts and digest",
		Example: "  sealyard db status\n  sealyard db status --db ./db -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				dir = vulndb.DefaultDir(s.getenv)
			}
			st, err := vulndb.Inspect(dir)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			case "text":
				return statusText(s.out, st)
			default:
				return fmt.Errorf("unknown output format %q (want text or json)", format)
			}
		},
	}
	cmd.Flags().StringVar(&dir, "db", "", "database directory (default $SEALYARD_DB_DIR or the user cache)")
	cmd.Flags().StringVarP(&format, "output", "o", "text", "text or json")
	return cmd
}

func statusText(w io.Writer, st vulndb.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Path:\t%s\n", st.Path)
	fmt.Fprintf(tw, "Schema:\t%s\n", st.SchemaVersion)
	fmt.Fprintf(tw, "Built:\t%s\n", st.Built.Format(time.RFC3339))
	if st.Source != "" {
		fmt.Fprintf(tw, "Source:\t%s\n", st.Source)
	}
	var names []string
	for _, p := range st.Providers {
		names = append(names, p.Name)
	}
	fmt.Fprintf(tw, "Providers:\t%s\n", strings.Join(names, ", "))
	fmt.Fprintf(tw, "Vulnerabilities:\t%d\n", st.Counts.Vulnerabilities)
	fmt.Fprintf(tw, "Affected packages:\t%d\n", st.Counts.AffectedPackages)
	fmt.Fprintf(tw, "KEV entries:\t%d\n", st.Counts.KEV)
	fmt.Fprintf(tw, "EPSS entries:\t%d\n", st.Counts.EPSS)
	fmt.Fprintf(tw, "Digest:\t%s\n", st.Digest)
	return tw.Flush()
}
