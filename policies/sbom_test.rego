package sealyard.sbom_test

import rego.v1

import data.sealyard.fixtures
import data.sealyard.sbom

two_platforms := object.union(fixtures.clean, {"image": object.union(fixtures.clean.image, {"platforms": ["linux/amd64", "linux/arm64"]})})

test_sy_sbom_001_fires if {
	some v in sbom.deny with input as two_platforms
	v.rule == "SY-SBOM-001"
	contains(v.msg, "linux/arm64")
	none := object.union(fixtures.clean, {"sbom": {"present": false, "platforms": [], "packages": []}})
	"SY-SBOM-001" in fixtures.rules(sbom.deny) with input as none
}

test_sy_sbom_001_passes if {
	not "SY-SBOM-001" in fixtures.rules(sbom.deny) with input as fixtures.clean
	both := object.union(two_platforms, {"sbom": object.union(fixtures.clean.sbom, {"platforms": ["linux/arm64", "linux/amd64"]})})
	not "SY-SBOM-001" in fixtures.rules(sbom.deny) with input as both
}
