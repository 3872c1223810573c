package facts

// SBOMPackage summarises one SBOM package for the gate.
type SBOMPackage struct {
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	Type      string   `json:"type"`
	PURL      string   `json:"purl,omitempty"`
	Licenses  []string `json:"licenses"`
	Platforms []string `json:"platforms,omitempty"`
}
