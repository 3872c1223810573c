package sealyard.risk_test

import rego.v1

import data.sealyard.fixtures
import data.sealyard.risk

risk_fact(extra) := object.union(
	{
		"formula": "sealyard-risk/v1",
		"score": 240,
		"band": "high",
		"vulnerabilities": 200,
		"secrets": 0,
		"exposure_percent": 120,
		"root": true,
		"exposed_ports": false,
	},
	extra,
)

with_risk(r) := object.union(fixtures.clean, {"risk": r})

test_sy_risk_001_fires if {
	some v in risk.deny with input as with_risk(risk_fact({})) with data.settings.risk.max_score as 200
	v.rule == "SY-RISK-001"
	contains(v.msg, "risk score is 240")
}

test_sy_risk_001_passes if {
	not "SY-RISK-001" in fixtures.rules(risk.deny) with input as with_risk(risk_fact({})) with data.settings.risk.max_score as 240
	not "SY-RISK-001" in fixtures.rules(risk.deny) with input as with_risk(risk_fact({}))
}

test_sy_risk_002_fires if {
	some v in risk.deny with input as with_risk(risk_fact({"baseline": 150, "change": 50})) with data.settings.risk.max_increase as 0
	v.rule == "SY-RISK-002"
	contains(v.msg, "from 150 (the baseline) to 200, by 50")
}

test_sy_risk_002_passes if {
	not "SY-RISK-002" in fixtures.rules(risk.deny) with input as with_risk(risk_fact({"baseline": 150, "change": 50})) with data.settings.risk.max_increase as 50
	not "SY-RISK-002" in fixtures.rules(risk.deny) with input as with_risk(risk_fact({"baseline": 250, "change": -50})) with data.settings.risk.max_increase as 0
	not "SY-RISK-002" in fixtures.rules(risk.deny) with input as with_risk(risk_fact({})) with data.settings.risk.max_increase as 0
}
