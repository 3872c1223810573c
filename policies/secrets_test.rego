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
