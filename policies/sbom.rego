# Inventory: no image ships without an SBOM for each of its platforms.
package sealyard.sbom

import rego.v1

import data.sealyard.lib

# SY-SBOM-001: an SBOM is missing, or misses a platform of the image.
deny contains v if {
	lib.settings.sbom.required
	not input.sbom.present
	v := {
		"rule": "SY-SBOM-001",
		"title": "SBOM missing",
		"msg": "no SBOM was produced for the image; run sealyard sbom (or sealyard gate on the image) so the gate can see its packages",
	}
}

deny contains v if {
	lib.settings.sbom.required
	input.sbom.present
	some p in input.image.platforms
	not p in {q | some q in input.sbom.platforms}
	v := {
		"rule": "SY-SBOM-001",
		"title": "SBOM missing",
		"msg": sprintf("the image has no SBOM for platform %s; catalog every platform of the index", [p]),
	}
}
