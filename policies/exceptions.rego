# Governance of exceptions: an expired exception does not apply, and says so.
package sealyard.exceptions

import rego.v1

# SY-EXC-001: an exception that would apply here has expired.
deny contains v if {
	some e in input.exceptions.expired
	v := {
		"rule": "SY-EXC-001",
		"title": "Exception expired",
		"msg": sprintf("the exception for %s owned by %s expired on %s (reason: %s); ask %s to renew it or fix the finding", [e.selector, e.owner, e.expires, e.reason, e.owner]),
	}
}
