package registry

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// staticKeychain serves credentials given explicitly for one host each.
type staticKeychain map[string]authn.Basic

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if b, ok := k[r.RegistryStr()]; ok {
		return &authn.Basic{Username: b.Username, Password: b.Password}, nil
	}
	return authn.Anonymous, nil
}

// ciKeychain serves the registry tokens GitHub Actions and GitLab CI put in a
// job's environment, each only for its own registry.
type ciKeychain struct {
	env func(string) string
}

func (k ciKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := r.RegistryStr()
	// GitHub Actions: GITHUB_TOKEN can push to ghcr.io as the workflow's actor.
	if host == "ghcr.io" {
		if tok := k.env("GITHUB_TOKEN"); tok != "" {
			user := k.env("GITHUB_ACTOR")
			if user == "" {
				user = "x-access-token"
			}
			return &authn.Basic{Username: user, Password: tok}, nil
		}
	}
	// GitLab CI: the job's registry, with deploy credentials or the job token.
	if reg := k.env("CI_REGISTRY"); reg != "" && sameRegistry(reg, host) {
		if u, p := k.env("CI_REGISTRY_USER"), k.env("CI_REGISTRY_PASSWORD"); u != "" && p != "" {
			return &authn.Basic{Username: u, Password: p}, nil
		}
		if tok := k.env("CI_JOB_TOKEN"); tok != "" {
			return &authn.Basic{Username: "gitlab-ci-token", Password: tok}, nil
		}
	}
	return authn.Anonymous, nil
}

func sameRegistry(a, b string) bool {
	ra, err := name.NewRegistry(a)
	if err != nil {
		return false
	}
	return ra.RegistryStr() == b
}
