# Credentials baked into the image configuration.
package sealyard.secrets

import rego.v1

import data.sealyard.lib

name_is_secret(n) if {
	some p in lib.settings.secrets.name_patterns
	regex.match(concat("", ["(?i)", p]), n)
}

# SY-SEC-001: an environment variable whose name says it holds a credential.
# Only names reach the policy; values never do.
deny contains v if {
	some c in input.image.configs
	some n in c.env_names
	name_is_secret(n)
	v := {
		"rule": "SY-SEC-001",
		"title": "Credential in the environment",
		"msg": sprintf("the %s image sets %s in its environment; remove it from the image and pass the secret at run time (secret store, mounted file or runtime env)", [c.platform, n]),
	}
}

# SY-SEC-002: a label whose key or value is a credential. sealyard redacts
# such values before any policy sees them and lists the labels in
# secret_labels; messages name the label, never its value.
deny contains v if {
	some c in input.image.configs
	some k, val in c.labels
	label_is_secret(c, k, val)
	v := {
		"rule": "SY-SEC-002",
		"title": "Credential in a label",
		"msg": sprintf("the label %s of the %s image holds a credential; labels are public to anyone who can pull the image, so remove it and rotate the credential", [k, c.platform]),
	}
}

label_is_secret(_, k, _) if name_is_secret(k)

label_is_secret(c, k, _) if k in c.secret_labels

label_is_secret(_, _, val) if {
	some p in lib.settings.secrets.value_patterns
	regex.match(p, val)
}
