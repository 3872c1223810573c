# Helpers shared by sealyard's policies.
package sealyard.lib

import rego.v1

settings := data.settings

# lower returns the lower-case severity of a finding.
severity(f) := lower(f.severity)

# severity_rank orders severities as grype does: unknown lowest.
severity_ranks := {"unknown": 0, "negligible": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}

severity_rank(s) := object.get(severity_ranks, lower(s), 0)

# plain drops a leading "v" from a version for messages
# ("v0.3.5" -> "0.3.5", "go1.26.8" -> "1.26.8").
plain(v) := trim_prefix(trim_prefix(v, "go"), "v")

# fix_version is the version to upgrade to.
fix_version(f) := f.fix.suggested if {
	f.fix.suggested != ""
} else := f.fix.versions[0]

# package_name names the package the way users upgrade it.
package_name(f) := "Go (stdlib)" if {
	f.package.name == "stdlib"
} else := f.package.name

# where says where in the image a finding is.
where(f) := concat("", [" in ", f.locations[0].path]) if {
	count(f.locations) > 0
} else := ""

# reachable_text describes reachability for messages, naming at most three
# vulnerable symbols.
reachable_text(f) := concat("", [", reachable via ", symbols_text(f.symbols)]) if {
	f.reachable == true
	count(f.symbols) > 0
} else := ", reachable" if {
	f.reachable == true
} else := ", reachability unknown" if {
	f.reachable == null
} else := ", not reachable"

# finding_ref is how violations refer to a finding.
finding_ref(f) := {
	"id": f.id,
	"package": f.package.name,
	"version": f.package.version,
	"purl": object.get(f.package, "purl", ""),
}

# counts reports whether a finding takes part under only_new.
counts(f) if not settings.vulnerabilities.only_new

counts(f) if {
	settings.vulnerabilities.only_new
	f.status != "known"
}

symbols_text(syms) := concat(", ", syms) if {
	count(syms) <= 3
} else := sprintf("%s and %d more", [concat(", ", array.slice(syms, 0, 3)), count(syms) - 3])
