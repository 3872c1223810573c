# Licenses: a deny-list and, when set, an allow-list of SPDX identifiers.
package sealyard.licenses

import rego.v1

import data.sealyard.lib

# matches reports whether license l matches pattern p ("AGPL-3.0*" is a prefix).
matches(l, p) if {
	endswith(p, "*")
	startswith(lower(l), lower(trim_suffix(p, "*")))
}

matches(l, p) if {
	not endswith(p, "*")
	lower(l) == lower(p)
}

# SY-LIC-001: a package under a denied license.
deny contains v if {
	some p in input.sbom.packages
	some l in p.licenses
	some pattern in lib.settings.licenses.deny
	matches(l, pattern)
	v := {
		"rule": "SY-LIC-001",
		"title": "Denied license",
		"msg": sprintf("%s %s is licensed %s, which is denied; replace the package or get a license exception", [p.name, p.version, l]),
		"package": {"name": p.name, "version": p.version, "purl": object.get(p, "purl", "")},
	}
}

# SY-LIC-002: with an allow-list, a package under a license not on it.
deny contains v if {
	count(lib.settings.licenses.allow) > 0
	some p in input.sbom.packages
	some l in p.licenses
	not allowed(l)
	v := {
		"rule": "SY-LIC-002",
		"title": "License not on the allow-list",
		"msg": sprintf("%s %s is licensed %s, which is not on the allow-list (%s); replace the package or extend the allow-list", [p.name, p.version, l, concat(", ", lib.settings.licenses.allow)]),
		"package": {"name": p.name, "version": p.version, "purl": object.get(p, "purl", "")},
	}
}

allowed(l) if {
	some pattern in lib.settings.licenses.allow
	matches(l, pattern)
}
