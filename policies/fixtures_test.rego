# Inputs the policy tests start from: a clean image, and findings to add.
package sealyard.fixtures

import rego.v1

clean := {
	"image": {
		"reference": "registry.example.com/app:v1",
		"digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"platforms": ["linux/amd64"],
		"configs": [{"platform": "linux/amd64", "user": "65532", "env_names": ["PATH"], "labels": {"org.opencontainers.image.source": "https://github.com/acme/app"}, "secret_labels": []}],
		"base": {"name": "registry.example.com/base:1", "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222"},
	},
	"sbom": {
		"present": true,
		"platforms": ["linux/amd64"],
		"packages": [{"name": "golang.org/x/text", "version": "v0.3.5", "type": "go-module", "licenses": ["BSD-3-Clause"], "purl": "pkg:golang/golang.org/x/text@v0.3.5"}],
	},
	"findings": [],
	"exceptions": {"applied": [], "expired": []},
}

# with_config changes the configuration of the clean image's one platform.
with_config(c) := object.union(clean, {"image": object.union(clean.image, {"configs": [object.union(clean.image.configs[0], c)]})})

# two_platforms is an index whose amd64 image is clean and whose arm64
# image has the configuration c.
two_platforms(c) := object.union(clean, {"image": object.union(clean.image, {
	"platforms": ["linux/amd64", "linux/arm64"],
	"configs": [clean.image.configs[0], object.union(clean.image.configs[0], object.union({"platform": "linux/arm64"}, c))],
})})

finding(overrides) := object.union(
	{
		"id": "GO-2021-0113",
		"aliases": ["CVE-2021-38561"],
		"severity": "Unknown",
		"fix": {"state": "fixed", "versions": ["0.3.7"], "suggested": "0.3.7"},
		"reachable": true,
		"symbols": ["golang.org/x/text/language.Parse"],
		"package": {"name": "golang.org/x/text", "version": "v0.3.5", "type": "go-module", "purl": "pkg:golang/golang.org/x/text@v0.3.5"},
		"locations": [{"path": "/usr/local/bin/app"}],
		"status": "new",
	},
	overrides,
)

with_findings(fs) := object.union(clean, {"findings": fs})

rules(set) := {v.rule | some v in set}
