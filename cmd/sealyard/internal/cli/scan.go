package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/pipelines/assess"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/scan"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

type dbFlags struct {
	dir    string
	maxAge time.Duration
}

func (f *dbFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.dir, "db", "", "vulnerability database directory (default $SEALYARD_DB_DIR or the user cache)")
	cmd.Flags().DurationVar(&f.maxAge, "db-max-age", vulndb.DefaultMaxAge, "refuse a database older than this (0 accepts any age)")
}

func (f *dbFlags) open(s *streams) (*vulndb.DB, error) {
	dir := f.dir
	if dir == "" {
		dir = vulndb.DefaultDir(s.getenv)
	}
	opts := []vulndb.OpenOption{vulndb.WithMaxAge(f.maxAge)}
	if f.maxAge == 0 {
		opts = []vulndb.OpenOption{vulndb.WithoutAgeCheckUnsafe()}
	}
	return vulndb.Open(dir, opts...)
}

type scanFlags struct {
	outputs      []string
	failOn       string
	onlyFixed    bool
	ignoreStates string
	ignoreFile   string
	platforms    string
	base         string
	baseUpdate   string
	vex          []string
	db           dbFlags
	reg          registryFlags
}

func newScanCmd(s *streams) *cobra.Command {
	f := &scanFlags{}
	cmd := &cobra.Command{
		Use:   "scan IMAGE|sbom:FILE",
		Short: "Find known vulnerabilities with grype's matchers",
		Long: `Match an image's SBOM (cataloged on the fly) or an SBOM file against the
vulnerability database.

Go advisories are reported at module level, like govulncheck, and each Go
finding says whether the binary links a vulnerable symbol (reachable
true/false; null when unknown, as for SBOM formats without symbols). Severity
is the database's: Go advisories have none, so they show as Unknown, never as
Low.

--fail-on SEVERITY exits 1 when a finding is at or above SEVERITY (grype's
order: critical > high > medium > low > negligible > unknown). A missing or
stale database is an error (exit 2) that says how to get one.`,
		Example: `  sealyard scan oci-dir:out --db ./db --fail-on high
  sealyard scan sbom:sbom.syft.json -o table -o json=findings.json
  sealyard scan registry.example.com/app:v1 --only-fixed --ignore-states wont-fix`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScan(cmd, s, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.outputs, "output", "o", []string{"table"}, "FORMAT[=FILE]: table or json (repeatable)")
	fl.StringArrayVar(&f.vex, "vex", nil, "OpenVEX document (repeatable): findings its not_affected or fixed statements cover for this image are moved to the ignored list")
	fl.StringVar(&f.baseUpdate, "base-update", "", "a newer base image (with --base): say how many of the findings in the base's layers updating to it clears")
	fl.StringVar(&f.base, "base", "", "the base image (a reference, any source scheme): findings in its layers are attributed to it")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 1 when a finding is at or above this severity")
	fl.BoolVar(&f.onlyFixed, "only-fixed", false, "report only findings that have a fix")
	fl.StringVar(&f.ignoreStates, "ignore-states", "", "drop findings with these fix states (comma-separated: fixed, not-fixed, wont-fix, unknown)")
	fl.StringVar(&f.ignoreFile, "ignore-file", "", "YAML file with grype-style ignore rules (a list, or under 'ignore:')")
	fl.StringVar(&f.platforms, "platform", "", "scan only these platforms of an index (comma-separated)")
	f.db.register(cmd)
	f.reg.register(cmd)
	return cmd
}

func runScan(cmd *cobra.Command, s *streams, f *scanFlags, ref string) error {
	ctx := cmd.Context()
	outs, err := parseOutputs(f.outputs, []string{"table", "json"})
	if err != nil {
		return err
	}
	var opts []scan.Option
	if f.onlyFixed {
		opts = append(opts, scan.WithOnlyFixed())
	}
	if f.ignoreStates != "" {
		opts = append(opts, scan.WithIgnoreStates(strings.Split(f.ignoreStates, ",")...))
	}
	if f.ignoreFile != "" {
		rules, err := readIgnoreRules(f.ignoreFile)
		if err != nil {
			return err
		}
		opts = append(opts, scan.WithIgnoreRules(rules...))
	}
	failOn := ""
	if f.failOn != "" {
		if failOn, err = facts.ParseSeverity(f.failOn); err != nil {
			return fmt.Errorf("--fail-on: %w", err)
		}
	}
	var vexDocs []*policy.VEXDocument
	for _, p := range f.vex {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("VEX file: %w", err)
		}
		doc, err := policy.ParseVEX(data, p)
		if err != nil {
			return err
		}
		vexDocs = append(vexDocs, doc)
	}
	db, err := f.db.open(s)
	if err != nil {
		return err
	}
	defer db.Close()

	var inputs []scan.Input
	var platforms []string
	var perInput []scan.Option // the base image's layers, per platform
	if file, ok := strings.CutPrefix(ref, "sbom:"); ok {
		fh, err := os.Open(file)
		if err != nil {
			return fmt.Errorf("SBOM file: %w", err)
		}
		in, err := scan.FromReader(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		inputs, platforms = append(inputs, in), append(platforms, "")
	} else {
		loaded, name, err := loadImage(cmd, s, ref, f.platforms, &f.reg)
		if err != nil {
			return err
		}
		defer loaded.Close()
		s.logf("cataloging %s", ref)
		docs, err := sbom.GenerateAll(ctx, loaded.Artifact, sbom.WithName(name), sbom.WithToolVersion(versionInfo().Version))
		if err != nil {
			return err
		}
		for _, d := range docs {
			inputs, platforms = append(inputs, scan.FromDocument(d)), append(platforms, d.Platform.String())
			baseOpt := scan.Option(nil)
			if f.base != "" {
				ids, err := baseDiffIDs(cmd, s, f.base, d.Platform, &f.reg)
				if err != nil {
					return err
				}
				baseOpt = scan.WithBase(ids)
			}
			perInput = append(perInput, baseOpt)
		}
	}
	tripped := 0
	many := len(inputs) > 1
	for _, o := range outs {
		if o.file == "" && many && o.format == "json" {
			return fmt.Errorf("the image has %d platforms: write json to a file (-o json=FILE) or pick one with --platform", len(inputs))
		}
	}
	for i, in := range inputs {
		s.logf("matching against the database (%s)", db.Status().Digest)
		iopts := opts
		if i < len(perInput) && perInput[i] != nil {
			iopts = append(append([]scan.Option{}, opts...), perInput[i])
		}
		rep, err := scan.Scan(ctx, in, db, iopts...)
		if err != nil {
			return err
		}
		if n := policy.FilterVEX(rep, vexDocs); n > 0 {
			s.logf("%d findings removed by VEX statements", n)
		}
		if f.baseUpdate != "" {
			newer, err := newerBaseFindings(cmd, s, f, platforms[i], db)
			if err != nil {
				return err
			}
			u := facts.BaseUpdateOf(rep.Findings, newer, f.baseUpdate)
			s.logf("updating the base image to %s clears %d of the %d findings in its layers%s", u.Newer, u.Cleared, u.InBase, advisoryNote(u.Advisories))
		}
		for _, o := range outs {
			file := perPlatform(o.file, platforms[i], many)
			err := o.write(s.out, file, func(w io.Writer) error {
				if o.format == "json" {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					return enc.Encode(rep)
				}
				return findingsTable(w, rep)
			})
			if err != nil {
				return err
			}
			if file != "" {
				s.logf("wrote %s", file)
			}
		}
		if failOn != "" {
			for _, fd := range rep.Findings {
				if facts.AtOrAbove(fd.Severity, failOn) {
					tripped++
				}
			}
		}
	}
	if tripped > 0 {
		return denied("%d finding(s) at or above %s (--fail-on)", tripped, failOn)
	}
	return nil
}

func readIgnoreRules(path string) ([]scan.IgnoreRule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ignore file: %w", err)
	}
	var wrapped struct {
		Ignore []scan.IgnoreRule `yaml:"ignore"`
	}
	if err := yaml.Unmarshal(data, &wrapped); err == nil && len(wrapped.Ignore) > 0 {
		return wrapped.Ignore, nil
	}
	var rules []scan.IgnoreRule
	if err := yaml.Unmarshal(data, &rules); err != nil {
		return nil, fmt.Errorf("ignore file %q: want a list of rules or an 'ignore:' list: %w", path, err)
	}
	return rules, nil
}

// newerBaseFindings catalogs and scans the newer base image (--base-update)
// for the platform of the image scanned.
func newerBaseFindings(cmd *cobra.Command, s *streams, f *scanFlags, platform string, db *vulndb.DB) ([]facts.Finding, error) {
	if f.base == "" {
		return nil, fmt.Errorf("--base-update needs --base (the current base image)")
	}
	loaded, name, err := loadImage(cmd, s, f.baseUpdate, platform, &f.reg)
	if err != nil {
		return nil, fmt.Errorf("--base-update: %w", err)
	}
	defer loaded.Close()
	out, err := assess.Findings(cmd.Context(), loaded.Artifact, db, nil, sbom.WithName(name), sbom.WithToolVersion(versionInfo().Version))
	if err != nil {
		return nil, fmt.Errorf("--base-update: %w", err)
	}
	return out, nil
}

func advisoryNote(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return " (" + strings.Join(ids, ", ") + ")"
}

// baseDiffIDs loads the base image ref and returns the diff IDs of its
// image for platform p.
func baseDiffIDs(cmd *cobra.Command, s *streams, ref string, p v1.Platform, reg *registryFlags) ([]string, error) {
	loaded, _, err := loadImage(cmd, s, ref, "", reg)
	if err != nil {
		return nil, fmt.Errorf("--base: %w", err)
	}
	defer loaded.Close()
	ids, err := image.DiffIDs(loaded.Artifact, p)
	if err != nil {
		return nil, fmt.Errorf("--base %s: %w", ref, err)
	}
	return ids, nil
}

func findingsTable(w io.Writer, r *facts.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if r.Image != nil {
		fmt.Fprintf(tw, "# %s@%s %s\n", r.Image.Name, r.Image.Digest, r.Image.Platform)
	}
	fmt.Fprintln(tw, "NAME\tINSTALLED\tFIXED IN\tTYPE\tVULNERABILITY\tSEVERITY\tREACHABLE\tLOCATION\tLAYER")
	for _, f := range r.Findings {
		reach := "unknown"
		if f.Reachable != nil {
			reach = map[bool]string{true: "yes", false: "no"}[*f.Reachable]
		}
		fixed := strings.Join(f.Fix.Versions, ", ")
		if f.Fix.State != "fixed" {
			fixed = "(" + f.Fix.State + ")"
		}
		loc, layer := "", ""
		if len(f.Locations) > 0 {
			l := f.Locations[0]
			loc = l.Path
			if l.LayerIndex != nil {
				layer = fmt.Sprint(*l.LayerIndex)
				if l.Base != nil && *l.Base {
					layer += " (base)"
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Package.Name, f.Package.Version, fixed, f.Package.Type, f.ID, f.Severity, reach, loc, layer)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d findings (%d reachable, %d fixable), %d ignored; database %s built %s\n",
		r.Summary.Total, r.Summary.Reachable, r.Summary.Fixable, r.Summary.Ignored, r.DB.Digest, r.DB.Built)
	if rs := facts.Remediations(r.Findings); len(rs) > 0 {
		fmt.Fprintf(w, "\n%d fixes, one line each (reachable first):\n", len(rs))
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "FIX\tCLEARS\tREACHABLE\tSEVERITY\tIN")
		for _, x := range rs {
			in := map[string]string{"base": "base image", "app": "your code", "both": "both"}[x.Base]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", x.Action, len(x.Advisories), x.Reachable, x.Severity, in)
		}
		return tw.Flush()
	}
	return nil
}
