package cli

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/sbom"
)

type sbomFlags struct {
	outputs   []string
	platforms string
	name      string
	maxLayer  int64
	maxFiles  int
	source    string
	reg       registryFlags
}

func newSBOMCmd(s *streams) *cobra.Command {
	f := &sbomFlags{}
	cmd := &cobra.Command{
		Use:   "sbom IMAGE",
		Short: "Inventory an image with syft: OS packages, Go modules and more",
		Long: `Catalog IMAGE (any image reference) with the syft library and write its SBOM.

The image is read once, in memory, without a Docker daemon. Go binaries are
inventoried with their module versions and the function symbols compiled into
them (sealyard scan uses those for reachability). An index gets one SBOM per
platform; with a file output the platform goes into the file name
(sbom.cdx.json -> sbom.linux-arm64.cdx.json).

Formats: syft-json, spdx-json (SPDX 2.3), cyclonedx-json and cyclonedx-xml
(CycloneDX 1.6), and table. Output is deterministic: with the same image and
SOURCE_DATE_EPOCH the bytes are the same.`,
		Example: `  sealyard sbom oci-dir:out -o cyclonedx-json=sbom.cdx.json -o spdx-json=sbom.spdx.json -o syft-json=sbom.syft.json
  sealyard sbom registry.example.com/app:v1 --platform linux/arm64
  sealyard sbom docker:app:dev -o syft-json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSBOM(cmd, s, f, args[0])
		},
	}
	cmd.Flags().StringArrayVarP(&f.outputs, "output", "o", []string{"table"}, "FORMAT[=FILE]: table, syft-json, spdx-json, cyclonedx-json, cyclonedx-xml (repeatable)")
	cmd.Flags().StringVar(&f.platforms, "platform", "", "catalog only these platforms of an index (comma-separated)")
	cmd.Flags().StringVar(&f.name, "name", "", "name recorded for the image (default: its repository or file name)")
	cmd.Flags().Int64Var(&f.maxLayer, "max-layer-size", sbom.DefaultMaxLayerBytes, "refuse a layer that expands past this many bytes (a decompression bomb)")
	cmd.Flags().IntVar(&f.maxFiles, "max-layer-files", sbom.DefaultMaxLayerEntries, "refuse a layer with more files than this")
	cmd.Flags().StringVar(&f.source, "catalog-source", "one-pass", "how layers are read: one-pass (each layer's stream once, in memory) or stereoscope (syft's image library, layers unpacked to disk), for comparison")
	f.reg.register(cmd)
	return cmd
}

var sbomFormats = []string{"table", string(sbom.SyftJSON), string(sbom.SPDXJSON), string(sbom.CycloneDXJSON), string(sbom.CycloneDXXML)}

func runSBOM(cmd *cobra.Command, s *streams, f *sbomFlags, ref string) error {
	ctx := cmd.Context()
	outs, err := parseOutputs(f.outputs, sbomFormats)
	if err != nil {
		return err
	}
	opts := []sbom.Option{sbom.WithToolVersion(versionInfo().Version), sbom.WithLayerLimits(f.maxLayer, f.maxFiles)}
	switch f.source {
	case "one-pass":
	case "stereoscope":
		opts = append(opts, sbom.WithStereoscope())
	default:
		return fmt.Errorf("--catalog-source: unknown source %q (one-pass or stereoscope)", f.source)
	}
	loaded, name, err := loadImage(cmd, s, ref, f.platforms, &f.reg)
	if err != nil {
		return err
	}
	defer loaded.Close()
	if f.name != "" {
		name = f.name
	}
	s.logf("cataloging %s", ref)
	docs, err := sbom.GenerateAll(ctx, loaded.Artifact, append(opts, sbom.WithName(name))...)
	if err != nil {
		return err
	}
	created, _, err := cienv.SourceDateEpoch(s.getenv)
	if err != nil {
		return err
	}
	return writeSBOMs(s, outs, docs, created)
}

func writeSBOMs(s *streams, outs []output, docs []*sbom.Document, created time.Time) error {
	many := len(docs) > 1
	for _, o := range outs {
		if o.file == "" && many && o.format != "table" {
			return fmt.Errorf("the image has %d platforms: write %s to a file (-o %s=FILE) or pick one with --platform", len(docs), o.format, o.format)
		}
	}
	for _, d := range docs {
		for _, o := range outs {
			file := perPlatform(o.file, d.Platform.String(), many)
			err := o.write(s.out, file, func(w io.Writer) error {
				if o.format == "table" {
					return sbomTable(w, d)
				}
				return sbom.Encode(w, d, sbom.Format(o.format), created)
			})
			if err != nil {
				return err
			}
			if file != "" {
				s.logf("wrote %s (%s, %s)", file, o.format, d.Platform.String())
			}
		}
	}
	return nil
}

func sbomTable(w io.Writer, d *sbom.Document) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "# %s@%s (%s)\n", d.Name, d.Digest, d.Platform.String())
	fmt.Fprintln(tw, "NAME\tVERSION\tTYPE")
	for _, p := range d.SBOM.Artifacts.Packages.Sorted() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Version, p.Type)
	}
	return tw.Flush()
}

// loadImage loads an image reference with the registry flags, narrowed to
// platforms, and returns it with the name documents give it.
func loadImage(cmd *cobra.Command, s *streams, ref, platforms string, rf *registryFlags) (*image.Loaded, string, error) {
	r, err := image.ParseRef(ref)
	if err != nil {
		return nil, "", err
	}
	ps, err := image.ParsePlatforms(platforms)
	if err != nil {
		return nil, "", err
	}
	reg, err := rf.client(s, registryHost(ref))
	if err != nil {
		return nil, "", err
	}
	s.logf("loading %s", ref)
	l, err := image.LoadRef(cmd.Context(), r, image.WithRegistry(reg), image.WithPlatforms(ps...))
	if err != nil {
		return nil, "", err
	}
	return l, imageName(r), nil
}
