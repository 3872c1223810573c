package daggerbuild

import (
	"context"
	"fmt"
	"strings"

	"dagger.io/dagger"

	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/sign"
)

// plaintext reads a secret's value. Errors name the secret's role (what),
// never its value.
func plaintext(ctx context.Context, s *dagger.Secret, what string) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	v, err := s.Plaintext(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the %s secret: %w", what, err)
	}
	return []byte(v), nil
}

// RegistryAuth turns a username and a password secret into the registry
// option for host. With no password, no option: the registry client falls
// back to the environment (GITHUB_TOKEN, CI_JOB_TOKEN) and Docker config.
func RegistryAuth(ctx context.Context, host, username string, password *dagger.Secret) ([]registry.Option, error) {
	pw, err := plaintext(ctx, password, "registry password")
	if err != nil || pw == nil {
		return nil, err
	}
	return authOptions(host, username, pw)
}

func authOptions(host, username string, password []byte) ([]registry.Option, error) {
	if username == "" {
		return nil, fmt.Errorf("a registry password secret was given for %s without a username", host)
	}
	if strings.TrimSpace(string(password)) == "" {
		return nil, fmt.Errorf("the registry password secret for %s is empty", host)
	}
	return []registry.Option{registry.WithBasicAuth(host, username, strings.TrimRight(string(password), "\r\n"))}, nil
}

// SigningKey loads a cosign private key from a secret, decrypted with the
// password secret (which may be nil for an unencrypted key).
func SigningKey(ctx context.Context, key, password *dagger.Secret) (*sign.Key, error) {
	if key == nil {
		return nil, fmt.Errorf("no signing key secret given")
	}
	pem, err := plaintext(ctx, key, "signing key")
	if err != nil {
		return nil, err
	}
	pw, err := plaintext(ctx, password, "signing key password")
	if err != nil {
		return nil, err
	}
	return sign.KeyFromPEM("from the key secret", pem, pw)
}

// DBCacheKey names the cache volume that keeps the vulnerability database
// between calls: one volume per database source and version, so a new
// version never reads an old one's files.
func DBCacheKey(source, version string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
				return r
			case r >= 'A' && r <= 'Z':
				return r + ('a' - 'A')
			}
			return '-'
		}, s)
	}
	return "sealyard-db-" + clean(source) + "-" + clean(version)
}

// DBCache is the cache volume of DBCacheKey.
func DBCache(c *dagger.Client, source, version string) *dagger.CacheVolume {
	return c.CacheVolume(DBCacheKey(source, version))
}
