package sealyard.vulnerabilities_test

import rego.v1

import data.sealyard.fixtures
import data.sealyard.vulnerabilities

test_sy_vuln_001_fires if {
	inp := fixtures.with_findings([fixtures.finding({})])
	some v in vulnerabilities.deny with input as inp
	v.rule == "SY-VULN-001"
	v.msg == "upgrade golang.org/x/text from 0.3.5 to 0.3.7 (GO-2021-0113, severity Unknown, reachable via golang.org/x/text/language.Parse) in /usr/local/bin/app"
}

test_sy_vuln_001_fires_on_unknown_reachability if {
	inp := fixtures.with_findings([fixtures.finding({"reachable": null, "severity": "High"})])
	"SY-VULN-001" in fixtures.rules(vulnerabilities.deny) with input as inp
}

test_sy_vuln_001_passes if {
	# medium is not a denied severity by default, not reachable is not
	# denied, and a known finding does not count under only_new
	inp := fixtures.with_findings([
		fixtures.finding({"severity": "Medium"}),
		fixtures.finding({"id": "GO-2", "reachable": false}),
	])
	not "SY-VULN-001" in fixtures.rules(vulnerabilities.deny) with input as inp
	known := fixtures.with_findings([fixtures.finding({"status": "known"})])
	not "SY-VULN-001" in fixtures.rules(vulnerabilities.deny) with input as known with data.settings.vulnerabilities.only_new as true
	"SY-VULN-001" in fixtures.rules(vulnerabilities.deny) with input as known
}

test_sy_vuln_002_fires if {
	inp := fixtures.with_findings([fixtures.finding({"reachable": false})])
	some v in vulnerabilities.warn with input as inp
	v.rule == "SY-VULN-002"
	contains(v.msg, "not reachable")
}

test_sy_vuln_002_passes if {
	inp := fixtures.with_findings([fixtures.finding({})])
	not "SY-VULN-002" in fixtures.rules(vulnerabilities.warn) with input as inp
}

test_sy_vuln_003_fires if {
	inp := fixtures.with_findings([fixtures.finding({"fix": {"state": "not-fixed", "versions": []}})])
	"SY-VULN-003" in fixtures.rules(vulnerabilities.warn) with input as inp
	not "SY-VULN-001" in fixtures.rules(vulnerabilities.deny) with input as inp
}

test_sy_vuln_003_passes if {
	inp := fixtures.with_findings([fixtures.finding({})])
	not "SY-VULN-003" in fixtures.rules(vulnerabilities.warn) with input as inp
}

test_sy_vuln_004_fires if {
	# known exploited denies even when not reachable and without a fix
	kev := [{"cve": "CVE-2021-38561", "dateAdded": "2022-01-01"}]
	inp := fixtures.with_findings([fixtures.finding({"kev": kev, "reachable": false, "severity": "Low", "fix": {"state": "not-fixed", "versions": []}})])
	some v in vulnerabilities.deny with input as inp
	v.rule == "SY-VULN-004"
	contains(v.msg, "no fix is available")
}

test_sy_vuln_004_passes if {
	inp := fixtures.with_findings([fixtures.finding({"severity": "Low"})])
	not "SY-VULN-004" in fixtures.rules(vulnerabilities.deny) with input as inp
}

test_messages_name_at_most_three_symbols if {
	syms := ["p.A", "p.B", "p.C", "p.D", "p.E"]
	inp := fixtures.with_findings([fixtures.finding({"symbols": syms})])
	some v in vulnerabilities.deny with input as inp
	contains(v.msg, "reachable via p.A, p.B, p.C and 2 more")
}

test_sy_vuln_005_passes if {
	inp := fixtures.with_findings([fixtures.finding({"severity": "Critical", "reachable": false})])
	not "SY-VULN-005" in fixtures.rules(vulnerabilities.deny) with input as inp
}

test_sy_vuln_005_fires if {
	inp := fixtures.with_findings([
		fixtures.finding({"id": "GO-1", "severity": "High", "reachable": false}),
		fixtures.finding({"id": "GO-2", "severity": "Medium"}),
		fixtures.finding({"id": "GO-3", "severity": "Critical", "fix": {"state": "not-fixed", "versions": []}}),
	])
	vs := {v.finding.id | some v in vulnerabilities.deny with input as inp with data.settings.vulnerabilities.fail_on_untriaged as "high"; v.rule == "SY-VULN-005"}
	vs == {"GO-1", "GO-3"}
	some v in vulnerabilities.deny with input as inp with data.settings.vulnerabilities.fail_on_untriaged as "HIGH"
	v.rule == "SY-VULN-005"
	v.finding.id == "GO-3"
	contains(v.msg, "no fix exists yet")
}

test_sy_vuln_005_unknown_is_the_lowest if {
	inp := fixtures.with_findings([fixtures.finding({"severity": "Unknown"})])
	"SY-VULN-005" in fixtures.rules(vulnerabilities.deny) with input as inp with data.settings.vulnerabilities.fail_on_untriaged as "unknown"
	not "SY-VULN-005" in fixtures.rules(vulnerabilities.deny) with input as inp with data.settings.vulnerabilities.fail_on_untriaged as "negligible"
}

test_sy_vuln_005_refuses_a_misspelt_severity if {
	inp := fixtures.with_findings([])
	some v in vulnerabilities.deny with input as inp with data.settings.vulnerabilities.fail_on_untriaged as "hgih"
	contains(v.msg, "not a severity")
}
