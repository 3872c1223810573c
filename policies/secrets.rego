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

# SY-SEC-003: a credential in a file of the image, found by the gitleaks
# rules in any layer. A file a later layer deletes or overwrites is still in
# the image: anyone who pulls it can read the layer. Findings an allow-list
# accepts (allowed) do not deny. Messages say where, never what.
deny contains v if {
	lib.settings.secrets.files == "deny"
	some v in file_findings
}

warn contains v if {
	lib.settings.secrets.files == "warn"
	some v in file_findings
}

file_findings contains v if {
	some f in input.secrets.findings
	object.get(f, "allowed", "") == ""
	v := {
		"rule": "SY-SEC-003",
		"title": "Credential in an image file",
		"msg": sprintf("gitleaks rule %s (%s) matched %s line %d%s%s; remove the credential from the build, rotate it and rebuild (deleting it in a later layer leaves it in the image); fingerprint %s", [f.rule, f.description, f.file, f.line, layer_text(f), status_text(f), f.fingerprint]),
	}
}

layer_text(f) := sprintf(" in layer %d of the %s image", [f.layer.index, f.platform]) if {
	f.layer
} else := ""

status_text(f) := ", deleted by a later layer but still in the image" if {
	f.status == "deleted"
} else := ", overwritten by a later layer but still in the image" if {
	f.status == "shadowed"
} else := ""
