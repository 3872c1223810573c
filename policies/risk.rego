# The risk score (input.risk, formula sealyard-risk/v1): a ceiling on it,
# and on how much a change may raise it against the baseline.
package sealyard.risk

import rego.v1

import data.sealyard.lib

# SY-RISK-001: the image's risk score is over settings.risk.max_score
# (-1: off).
deny contains v if {
	max := lib.settings.risk.max_score
	max >= 0
	input.risk.score > max
	v := {
		"rule": "SY-RISK-001",
		"title": "Risk score over the ceiling",
		"msg": sprintf("the image's risk score is %d (%s: %d vulnerability points, %d for credentials, exposure %d%%), over the ceiling of %d; fix the reachable and fixable findings first, remove credentials, run as a non-root user", [input.risk.score, input.risk.band, input.risk.vulnerabilities, input.risk.secrets, input.risk.exposure_percent, max]),
	}
}

# SY-RISK-002: against the baseline, the vulnerability points rose by more
# than settings.risk.max_increase (-1: off; 0 denies any increase).
deny contains v if {
	max := lib.settings.risk.max_increase
	max >= 0
	input.risk.change > max
	v := {
		"rule": "SY-RISK-002",
		"title": "Risk score increase",
		"msg": sprintf("this change raises the vulnerability points from %d (the baseline) to %d, by %d, more than the %d allowed; see the new findings", [input.risk.baseline, input.risk.vulnerabilities, input.risk.change, max]),
	}
}
