package cli

import (
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/sealyard/sealyard/pipelines/registry"
)

type registryClient = *registry.Client

// loadTrustedRoot reads a Sigstore trusted root (Fulcio certificate
// authorities, Rekor and CT log keys). Without one, keyless verification
// would need the public-good instance's TUF repository, which offline and
// air-gapped machines cannot reach.
func loadTrustedRoot(path string) (root.TrustedMaterial, error) {
	if path == "" {
		return nil, fmt.Errorf("keyless verification needs --trusted-root FILE (a Sigstore trusted_root.json); or verify with --key")
	}
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("trusted root %q: %w", path, err)
	}
	return tr, nil
}
