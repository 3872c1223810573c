package sealyard.secrets_test

import rego.v1

import data.sealyard.fixtures
import data.sealyard.secrets

with_config(c) := fixtures.with_config(c)

test_sy_sec_001_fires if {
	some v in secrets.deny with input as with_config({"env_names": ["PATH", "AWS_SECRET_ACCESS_KEY"]})
	v.rule == "SY-SEC-001"
	contains(v.msg, "AWS_SECRET_ACCESS_KEY")
	"SY-SEC-001" in fixtures.rules(secrets.deny) with input as with_config({"env_names": ["DB_PASSWORD"]})
	"SY-SEC-001" in fixtures.rules(secrets.deny) with input as with_config({"env_names": ["github_token"]})
}

test_sy_sec_001_passes if {
	not "SY-SEC-001" in fixtures.rules(secrets.deny) with input as with_config({"env_names": ["PATH", "HOME", "TOKENIZER_MODEL", "PASSWORD_MIN_LENGTH_HINTX"]})
}

test_sy_sec_002_fires if {
	key := concat("", ["AKIA", "ABCDEFGHIJKLMNOP"])
	some v in secrets.deny with input as with_config({"labels": {"build.note": key}})
	v.rule == "SY-SEC-002"
	not contains(v.msg, key)
	"SY-SEC-002" in fixtures.rules(secrets.deny) with input as with_config({"labels": {"deploy.api_key": "x"}})
}

test_sy_sec_002_fires_on_redacted_label if {
	some v in secrets.deny with input as fixtures.two_platforms({"labels": {"note": "<redacted sha256:0123456789ab>"}, "secret_labels": ["note"]})
	v.rule == "SY-SEC-002"
	contains(v.msg, "linux/arm64")
}

test_sy_sec_001_fires_on_any_platform if {
	some v in secrets.deny with input as fixtures.two_platforms({"env_names": ["DB_PASSWORD"]})
	v.rule == "SY-SEC-001"
	contains(v.msg, "linux/arm64")
}

test_sy_sec_002_passes if {
	not "SY-SEC-002" in fixtures.rules(secrets.deny) with input as fixtures.clean
}

digest_a := "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

secret_finding(extra) := object.union(
	{
		"rule": "github-pat",
		"description": "GitHub Personal Access Token",
		"file": "/etc/app/creds.env",
		"line": 3,
		"column": 7,
		"fingerprint": "/etc/app/creds.env:github-pat:3",
		"status": "deleted",
		"platform": "linux/amd64",
		"layer": {"index": 1, "digest": digest_a, "diff_id": digest_a},
	},
	extra,
)

with_secrets(findings) := object.union(fixtures.clean, {"secrets": {"scanned": true, "rule_set": "gitleaks", "findings": findings}})

test_sy_sec_003_fires if {
	some v in secrets.deny with input as with_secrets([secret_finding({})])
	v.rule == "SY-SEC-003"
	contains(v.msg, "/etc/app/creds.env line 3 in layer 1 of the linux/amd64 image")
	contains(v.msg, "deleted by a later layer but still in the image")
	contains(v.msg, "/etc/app/creds.env:github-pat:3")
}

test_sy_sec_003_one_violation_per_finding if {
	vs := [v | some v in secrets.deny with input as with_secrets([secret_finding({}), secret_finding({"file": "/b", "fingerprint": "/b:github-pat:3"})]); v.rule == "SY-SEC-003"]
	count(vs) == 2
}

test_sy_sec_003_passes if {
	not "SY-SEC-003" in fixtures.rules(secrets.deny) with input as with_secrets([secret_finding({"allowed": "path etc/**"})])
}

test_sy_sec_003_no_scan_passes if {
	not "SY-SEC-003" in fixtures.rules(secrets.deny) with input as fixtures.clean
	not "SY-SEC-003" in fixtures.rules(secrets.deny) with input as with_secrets([])
}

test_sy_sec_003_warn_setting if {
	not "SY-SEC-003" in fixtures.rules(secrets.deny) with input as with_secrets([secret_finding({})]) with data.settings.secrets.files as "warn"
	"SY-SEC-003" in fixtures.rules(secrets.warn) with input as with_secrets([secret_finding({})]) with data.settings.secrets.files as "warn"
}
