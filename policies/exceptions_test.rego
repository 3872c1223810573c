package sealyard.exceptions_test

import rego.v1

import data.sealyard.exceptions
import data.sealyard.fixtures

expired := object.union(fixtures.clean, {"exceptions": {"applied": [], "expired": [{
	"selector": "vulnerability GO-2021-0113",
	"owner": "team-payments@example.com",
	"expires": "2026-01-01",
	"reason": "waiting for the upstream release",
}]}})

test_sy_exc_001_fires if {
	some v in exceptions.deny with input as expired
	v.rule == "SY-EXC-001"
	contains(v.msg, "owned by team-payments@example.com expired on 2026-01-01")
}

test_sy_exc_001_passes if {
	not "SY-EXC-001" in fixtures.rules(exceptions.deny) with input as fixtures.clean
}
