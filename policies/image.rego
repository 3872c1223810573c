# Image configuration: who the image runs as and what it is built on.
package sealyard.image

import rego.v1

import data.sealyard.lib

root_users := {"", "0", "root", "0:0", "root:root", "0:root", "root:0"}

# Every platform image is judged on its own configuration: an index whose
# arm64 image runs as root is denied even when its amd64 image does not.
root_configs contains c if {
	some c in input.image.configs
	c.user in root_users
}

root_violation(c) := {
	"rule": "SY-IMG-001",
	"title": "Runs as root",
	"msg": sprintf("the %s image runs as %s; set a non-root USER (sealyard build defaults to 65532)", [c.platform, user_text(c)]),
}

user_text(c) := "root (no USER set)" if {
	c.user == ""
} else := sprintf("user %q", [c.user])

# SY-IMG-001: running as root denies, or warns when settings say so.
deny contains root_violation(c) if {
	some c in root_configs
	lib.settings.user.root == "deny"
}

warn contains root_violation(c) if {
	some c in root_configs
	lib.settings.user.root == "warn"
}

# SY-IMG-002: with an allow-list of base images, the base must be on it.
deny contains v if {
	count(lib.settings.base_images.allow) > 0
	not base_allowed
	v := {
		"rule": "SY-IMG-002",
		"title": "Base image not allowed",
		"msg": sprintf("the base image %s is not on the allow-list (%s); rebuild on an allowed base", [base_text, concat(", ", lib.settings.base_images.allow)]),
	}
}

base := object.get(input.image, "base", {})

base_text := sprintf("%s@%s", [object.get(base, "name", ""), object.get(base, "digest", "")]) if {
	object.get(base, "digest", "") != ""
} else := "(unknown: the image records no org.opencontainers.image.base annotations)"

base_allowed if {
	some a in lib.settings.base_images.allow
	a != ""
	a in {object.get(base, "name", ""), object.get(base, "digest", "")}
}

base_allowed if {
	some a in lib.settings.base_images.allow
	name := object.get(base, "name", "")
	name != ""
	startswith(name, concat("", [a, "@"]))
}
