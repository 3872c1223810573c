package cli

import (
	"path/filepath"
	"strings"

	"github.com/sealyard/sealyard/pipelines/image"
)

// imageName is how documents name an image: its repository for registry
// and daemon references, the file name for archives and layouts (never a
// full path, so documents do not depend on where a file sits).
func imageName(r image.Ref) string {
	switch r.Scheme {
	case image.Registry, image.Docker:
		return r.Name.Context().Name()
	default:
		base := filepath.Base(filepath.Clean(r.Path))
		if i := strings.Index(base, "."); i > 0 {
			base = base[:i]
		}
		if base == "" || base == "." || base == "/" {
			return "image"
		}
		return base
	}
}
