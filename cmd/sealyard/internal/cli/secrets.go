package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/report"
	"github.com/sealyard/sealyard/pipelines/secrets"
)

type secretsFlags struct {
	outputs   []string
	allow     []string
	maxFile   int64
	maxLayer  int64
	maxFiles  int
	platforms string
	reg       registryFlags
}

func newSecretsCmd(s *streams) *cobra.Command {
	f := &secretsFlags{}
	cmd := &cobra.Command{
		Use:   "secrets PATH...|IMAGE",
		Short: "Find credentials in source files or in every layer of an image (gitleaks rules)",
		Long: `Scan files and directories (before anything is built, as a pre-commit hook
does) or an image, with the gitleaks v8 default rules.

For an image every layer is read, not only the final file system: a file
written in one layer and deleted or overwritten in a later one is still in
the image for anyone who pulls it. Such findings say so (status deleted or
shadowed).

A finding names its rule, file, line, layer and fingerprint (file:rule:line,
gitleaks' format); the secret itself is never printed, written or logged.

Allow-lists accept known non-credentials: --allow FILE (repeatable), YAML with
paths (globs), rules and fingerprints, or a .gitleaksignore file. Without
--allow, .sealyard-secrets.yaml and .gitleaksignore in the working directory
are read when present. Allowed findings are reported and do not fail.

Arguments that are existing files or directories (or start with dir: or
file:) are scanned as source; anything else is an image reference. Exit
status: 0 nothing found, 1 credentials found, 2 an error.`,
		Example: `  sealyard secrets .
  sealyard secrets oci-dir:out -o json=secrets.json -o sarif=secrets.sarif
  sealyard secrets --allow .sealyard-secrets.yaml registry.example.com/app:v1`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSecrets(cmd, s, f, args)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.outputs, "output", "o", []string{"table"}, "FORMAT[=FILE]: table, json or sarif (repeatable)")
	fl.StringArrayVar(&f.allow, "allow", nil, "allow-list file: YAML (paths, rules, fingerprints) or a .gitleaksignore (repeatable)")
	fl.Int64Var(&f.maxFile, "max-file-size", secrets.DefaultMaxFileBytes, "skip files larger than this many bytes")
	fl.Int64Var(&f.maxLayer, "max-layer-size", secrets.DefaultMaxLayerBytes, "refuse a layer that expands past this many bytes (a decompression bomb)")
	fl.IntVar(&f.maxFiles, "max-layer-files", secrets.DefaultMaxLayerEntries, "refuse a layer with more files than this")
	fl.StringVar(&f.platforms, "platform", "", "scan only these platforms of an index (comma-separated)")
	f.reg.register(cmd)
	return cmd
}

// sourcePaths returns the file-system paths among args, or nil when args
// name one image: a path exists, starts with dir: or file:, or starts
// with . or /; anything else is an image reference.
func sourcePaths(args []string) ([]string, error) {
	var paths []string
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "dir:"); ok {
			paths = append(paths, p)
			continue
		}
		if p, ok := strings.CutPrefix(a, "file:"); ok {
			paths = append(paths, p)
			continue
		}
		if _, err := os.Lstat(a); err == nil || strings.HasPrefix(a, ".") || strings.HasPrefix(a, "/") {
			paths = append(paths, a)
			continue
		}
		if len(args) > 1 {
			return nil, fmt.Errorf("%q is not a file or directory: give one image, or files and directories", a)
		}
		return nil, nil
	}
	return paths, nil
}

func runSecrets(cmd *cobra.Command, s *streams, f *secretsFlags, args []string) error {
	outs, err := parseOutputs(f.outputs, []string{"table", "json", "sarif"})
	if err != nil {
		return err
	}
	allow, err := secrets.LoadAllowLists(f.allow)
	if err != nil {
		return err
	}
	opts := secrets.Options{Allow: allow, MaxFileBytes: f.maxFile}
	paths, err := sourcePaths(args)
	if err != nil {
		return err
	}
	var r *facts.SecretsReport
	if paths != nil {
		s.logf("scanning %s", strings.Join(paths, " "))
		r, err = secrets.ScanPaths(cmd.Context(), paths, opts)
	} else {
		loaded, _, lerr := loadImage(cmd, s, args[0], f.platforms, &f.reg)
		if lerr != nil {
			return lerr
		}
		defer loaded.Close()
		s.logf("scanning every layer of %s", args[0])
		r, err = secrets.ScanImage(cmd.Context(), loaded.Artifact, args[0], secrets.ImageOptions{Options: opts, MaxLayerBytes: f.maxLayer, MaxLayerEntries: f.maxFiles})
	}
	if err != nil {
		return err
	}
	for _, o := range outs {
		err := o.write(s.out, o.file, func(w io.Writer) error {
			switch o.format {
			case "json":
				return writeJSON(w, r)
			case "sarif":
				return report.SecretsSARIF(w, r, versionInfo().Version)
			}
			return secretsTable(w, r)
		})
		if err != nil {
			return err
		}
		if o.file != "" {
			s.logf("wrote %s", o.file)
		}
	}
	s.logf("%d files read (%d skipped), %d findings, %d allowed", r.Scanned.Files, r.Scanned.Skipped, len(r.Findings), len(r.Findings)-len(r.Denying()))
	if n := len(r.Denying()); n > 0 {
		return denied("%d credential(s) found; remove them, rotate them, or allow-list what is not a credential (--allow)", n)
	}
	return nil
}

func secretsTable(w io.Writer, r *facts.SecretsReport) error {
	if len(r.Findings) == 0 {
		_, err := fmt.Fprintf(w, "No credentials found (%d files read, %d rules).\n", r.Scanned.Files, r.Rules)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tFILE\tLINE\tLAYER\tSTATUS\tFINGERPRINT\tALLOWED")
	for _, f := range r.Findings {
		layer := "-"
		if f.Layer != nil {
			layer = fmt.Sprintf("%d (%.19s)", f.Layer.Index, f.Layer.Digest)
			if f.Platform != "" {
				layer += " " + f.Platform
			}
		}
		allowed := f.Allowed
		if allowed == "" {
			allowed = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", f.Rule, f.File, f.Line, layer, f.Status, f.Fingerprint, allowed)
	}
	return tw.Flush()
}
