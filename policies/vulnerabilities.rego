# Vulnerabilities: strict where code runs and a fix exists, quiet otherwise.
package sealyard.vulnerabilities

import rego.v1

import data.sealyard.lib

deny_severities := {lower(s) | some s in lib.settings.vulnerabilities.deny_severities}

# SY-VULN-001: a fixable vulnerability at a denied severity in code that may
# run (reachable, or reachability unknown).
deny contains v if {
	some f in input.findings
	lib.severity(f) in deny_severities
	f.fix.state == "fixed"
	f.reachable != false
	lib.counts(f)
	v := {
		"rule": "SY-VULN-001",
		"title": "Fixable vulnerability in code that may run",
		"msg": sprintf("upgrade %s from %s to %s (%s, severity %s%s)%s", [
			lib.package_name(f), lib.plain(f.package.version), lib.plain(lib.fix_version(f)),
			f.id, f.severity, lib.reachable_text(f), lib.where(f),
		]),
		"finding": lib.finding_ref(f),
	}
}

# SY-VULN-002: the same, but the vulnerable code is not linked: warn.
warn contains v if {
	some f in input.findings
	lib.severity(f) in deny_severities
	f.fix.state == "fixed"
	f.reachable == false
	lib.counts(f)
	v := {
		"rule": "SY-VULN-002",
		"title": "Fixable vulnerability in code that is not reachable",
		"msg": sprintf("upgrade %s from %s to %s when convenient (%s, severity %s, vulnerable code not reachable)%s", [
			lib.package_name(f), lib.plain(f.package.version), lib.plain(lib.fix_version(f)),
			f.id, f.severity, lib.where(f),
		]),
		"finding": lib.finding_ref(f),
	}
}

# SY-VULN-003: no fix yet: warn, so it is tracked without blocking.
warn contains v if {
	some f in input.findings
	lib.severity(f) in deny_severities
	f.fix.state != "fixed"
	lib.counts(f)
	v := {
		"rule": "SY-VULN-003",
		"title": "Vulnerability without a fix",
		"msg": sprintf("%s in %s %s has no fix yet (fix state %s); watch for one or record a VEX statement if the image is not affected%s", [
			f.id, lib.package_name(f), lib.plain(f.package.version), f.fix.state, lib.where(f),
		]),
		"finding": lib.finding_ref(f),
	}
}

# SY-VULN-004: anything in CISA's Known Exploited Vulnerabilities catalog,
# fixed or not.
deny contains v if {
	lib.settings.kev.deny
	some f in input.findings
	count(object.get(f, "kev", [])) > 0
	v := {
		"rule": "SY-VULN-004",
		"title": "Known exploited vulnerability",
		"msg": sprintf("%s in %s %s is in the CISA KEV catalog; %s%s", [
			f.id, lib.package_name(f), lib.plain(f.package.version), kev_action(f), lib.where(f),
		]),
		"finding": lib.finding_ref(f),
	}
}

kev_action(f) := sprintf("upgrade to %s now", [lib.plain(lib.fix_version(f))]) if {
	f.fix.state == "fixed"
} else := "remove the package or mitigate it now; no fix is available"

# SY-VULN-005: nothing left untriaged. With fail_on_untriaged set, every
# finding at or above that severity that is still here (no fix applied, no
# VEX statement) denies, unless an exception covers it.
untriaged_threshold := lower(object.get(lib.settings.vulnerabilities, "fail_on_untriaged", ""))

deny contains v if {
	untriaged_threshold != ""
	some f in input.findings
	lib.severity_rank(lib.severity(f)) >= lib.severity_rank(untriaged_threshold)
	lib.counts(f)
	v := {
		"rule": "SY-VULN-005",
		"title": "Untriaged vulnerability",
		"msg": sprintf("%s in %s %s (severity %s%s) is untriaged: %s, record a VEX statement, or add an exception%s", [
			f.id, lib.package_name(f), lib.plain(f.package.version), f.severity, lib.reachable_text(f), untriaged_action(f), lib.where(f),
		]),
		"finding": lib.finding_ref(f),
	}
}

deny contains v if {
	untriaged_threshold != ""
	not lib.severity_ranks[untriaged_threshold]
	v := {
		"rule": "SY-VULN-005",
		"title": "Untriaged vulnerability",
		"msg": sprintf("settings.vulnerabilities.fail_on_untriaged is %q, not a severity (critical, high, medium, low, negligible or unknown)", [untriaged_threshold]),
	}
}

untriaged_action(f) := sprintf("upgrade to %s", [lib.plain(lib.fix_version(f))]) if {
	f.fix.state == "fixed"
} else := "no fix exists yet: mitigate it"
