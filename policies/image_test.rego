package sealyard.image_test

import rego.v1

import data.sealyard.fixtures
import data.sealyard.image

as_user(u) := fixtures.with_config({"user": u})

test_sy_img_001_fires if {
	some v in image.deny with input as as_user("")
	v.rule == "SY-IMG-001"
	contains(v.msg, "root (no USER set)")
	"SY-IMG-001" in fixtures.rules(image.deny) with input as as_user("0:0")
	"SY-IMG-001" in fixtures.rules(image.warn) with input as as_user("root") with data.settings.user.root as "warn"
	not "SY-IMG-001" in fixtures.rules(image.deny) with input as as_user("root") with data.settings.user.root as "warn"
}

test_sy_img_001_fires_on_any_platform if {
	some v in image.deny with input as fixtures.two_platforms({"user": "root"})
	v.rule == "SY-IMG-001"
	contains(v.msg, "linux/arm64")
	not contains(v.msg, "linux/amd64")
}

test_sy_img_001_passes if {
	not "SY-IMG-001" in fixtures.rules(image.deny) with input as fixtures.two_platforms({"user": "1000"})
	not "SY-IMG-001" in fixtures.rules(image.deny) with input as as_user("65532")
	not "SY-IMG-001" in fixtures.rules(image.deny) with input as as_user("app:app")
}

test_sy_img_002_fires if {
	"SY-IMG-002" in fixtures.rules(image.deny) with input as fixtures.clean with data.settings.base_images.allow as ["registry.example.com/other:1"]
	no_base := object.union(object.remove(fixtures.clean, ["image"]), {"image": object.remove(fixtures.clean.image, ["base"])})
	some v in image.deny with input as no_base with data.settings.base_images.allow as ["registry.example.com/base:1"]
	contains(v.msg, "unknown")
}

test_sy_img_002_passes if {
	not "SY-IMG-002" in fixtures.rules(image.deny) with input as fixtures.clean
	not "SY-IMG-002" in fixtures.rules(image.deny) with input as fixtures.clean with data.settings.base_images.allow as ["registry.example.com/base:1"]
	digest := fixtures.clean.image.base.digest
	not "SY-IMG-002" in fixtures.rules(image.deny) with input as fixtures.clean with data.settings.base_images.allow as [digest]
}
