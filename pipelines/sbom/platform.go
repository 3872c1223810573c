package sbom

import (
	syftsbom "github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
)

// PlatformOf is the platform an SBOM names for its image, if any.
func PlatformOf(s *syftsbom.SBOM) string {
	m, ok := s.Source.Metadata.(source.ImageMetadata)
	if !ok || m.OS == "" || m.Architecture == "" {
		return ""
	}
	p := m.OS + "/" + m.Architecture
	if m.Variant != "" {
		p += "/" + m.Variant
	}
	return p
}
