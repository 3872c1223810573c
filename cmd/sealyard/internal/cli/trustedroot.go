package cli

import (
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/verify"
)

type registryClient = *registry.Client

// trustFlags say where the Sigstore trusted root comes from: a file
// (offline), or a TUF repository (Sigstore's public-good one by default).
type trustFlags struct {
	file, mirror, root string
}

func (f *trustFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.file, "trusted-root", "", "Sigstore trusted root JSON (Fulcio, Rekor and CT log keys): verify offline, without TUF")
	fl.StringVar(&f.mirror, "tuf-mirror", "", "TUF repository to get the trusted root from (default Sigstore's public-good repository)")
	fl.StringVar(&f.root, "tuf-root", "", "the TUF repository's root.json (required with another --tuf-mirror)")
}

// load gets the trusted root: from --trusted-root, or through TUF.
func (f *trustFlags) load() (root.TrustedMaterial, error) {
	return verify.TrustedRoot(verify.TrustSource{File: f.file, Mirror: f.mirror, RootFile: f.root})
}

// given reports whether the user named a source.
func (f *trustFlags) given() bool { return f.file != "" || f.mirror != "" || f.root != "" }
