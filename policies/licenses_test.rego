package sealyard.licenses_test

import rego.v1

import data.sealyard.fixtures
import data.sealyard.licenses

agpl := object.union(fixtures.clean, {"sbom": object.union(fixtures.clean.sbom, {"packages": [{"name": "ghostscript", "version": "10.0", "type": "deb", "licenses": ["AGPL-3.0-or-later"]}]})})

test_sy_lic_001_fires if {
	some v in licenses.deny with input as agpl
	v.rule == "SY-LIC-001"
	contains(v.msg, "ghostscript 10.0 is licensed AGPL-3.0-or-later")
}

test_sy_lic_001_passes if {
	not "SY-LIC-001" in fixtures.rules(licenses.deny) with input as fixtures.clean
}

test_sy_lic_002_fires if {
	"SY-LIC-002" in fixtures.rules(licenses.deny) with input as fixtures.clean with data.settings.licenses.allow as ["MIT", "Apache-2.0"]
}

test_sy_lic_002_passes if {
	not "SY-LIC-002" in fixtures.rules(licenses.deny) with input as fixtures.clean with data.settings.licenses.allow as ["BSD-*"]
	not "SY-LIC-002" in fixtures.rules(licenses.deny) with input as fixtures.clean
}
