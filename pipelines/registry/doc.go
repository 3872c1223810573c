// Package registry holds what every stage needs to talk to an OCI registry:
// credentials, TLS trust, retries and the rule that plain HTTP is only spoken
// to loopback registries unless the caller says WithInsecure.
//
// Credentials are looked up, in order, from credentials given for one
// registry host, from the CI environment (GITHUB_TOKEN for ghcr.io, the GitLab
// job token or deploy credentials for $CI_REGISTRY), and from the Docker
// config keychain (~/.docker/config.json and credential helpers).
package registry
