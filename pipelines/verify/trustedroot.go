package verify

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// TrustSource says where the Sigstore trusted root (Fulcio authorities,
// Rekor and CT log keys) comes from. With File, verification is fully
// offline. Otherwise the root comes from a TUF repository: Sigstore's
// public-good one by default, its root of trust embedded in sealyard,
// updated and cached on disk.
type TrustSource struct {
	// File is a trusted_root.json.
	File string
	// Mirror is the TUF repository's URL (default Sigstore's public-good
	// repository, https://tuf-repo-cdn.sigstore.dev).
	Mirror string
	// RootFile is the TUF root.json to start from (default: the embedded
	// public-good root; required with a Mirror of another repository).
	RootFile string
	// CacheDir keeps the TUF metadata (default
	// $XDG_CACHE_HOME/sealyard/tuf, or ~/.cache/sealyard/tuf).
	CacheDir string
}

// TrustedRoot loads the trusted root from its source. Errors say how to
// point elsewhere or go offline.
func TrustedRoot(src TrustSource) (root.TrustedMaterial, error) {
	if src.File != "" {
		if src.Mirror != "" || src.RootFile != "" {
			return nil, errors.New("give --trusted-root or --tuf-mirror/--tuf-root, not both")
		}
		tr, err := root.NewTrustedRootFromPath(src.File)
		if err != nil {
			return nil, fmt.Errorf("trusted root %q: %w", src.File, err)
		}
		return tr, nil
	}
	opts := tuf.DefaultOptions()
	if src.RootFile != "" {
		b, err := os.ReadFile(src.RootFile)
		if err != nil {
			return nil, fmt.Errorf("TUF root %q: %w", src.RootFile, err)
		}
		opts.WithRoot(b)
	} else if src.Mirror != "" && src.Mirror != tuf.DefaultMirror {
		return nil, fmt.Errorf("--tuf-mirror %s is not Sigstore's public-good repository: give its root of trust with --tuf-root FILE", src.Mirror)
	}
	if src.Mirror != "" {
		opts.WithRepositoryBaseURL(src.Mirror)
	}
	cache := src.CacheDir
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for the TUF metadata: %w", err)
		}
		cache = filepath.Join(base, "sealyard", "tuf")
	}
	opts.WithCachePath(cache)
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("getting the Sigstore trusted root from the TUF repository %s: %w; to verify offline give --trusted-root FILE (a trusted_root.json), or point at a mirror with --tuf-mirror URL and --tuf-root FILE", opts.RepositoryBaseURL, err)
	}
	return tr, nil
}
