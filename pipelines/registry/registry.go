package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Client is a validated registry configuration. It is safe for concurrent use.
type Client struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	attempts  *attempts
	insecure  bool
	retries   int
	userAgent string
}

// Option configures a Client.
type Option func(*options) error

type options struct {
	basic     map[string]authn.Basic
	keychains []authn.Keychain
	env       func(string) string
	caFiles   []string
	caPool    *x509.CertPool
	// skipVerify accepts any TLS certificate; httpHosts may be reached
	// over plain HTTP.
	skipVerify bool
	httpHosts  map[string]bool
	base       http.RoundTripper
	retries    int
	userAgent  string
	noDocker   bool
}

func defaults() *options {
	return &options{
		basic:     map[string]authn.Basic{},
		env:       os.Getenv,
		retries:   3,
		userAgent: "sealyard",
	}
}

// WithBasicAuth uses username and password for the registry at host (as it
// appears in references, e.g. "ghcr.io" or "127.0.0.1:5000") and for no other.
func WithBasicAuth(host, username, password string) Option {
	return func(o *options) error {
		if host == "" {
			return errors.New("basic auth needs a registry host")
		}
		if username == "" || password == "" {
			return fmt.Errorf("basic auth for %q needs both a username and a password", host)
		}
		reg, err := name.NewRegistry(host)
		if err != nil {
			return fmt.Errorf("basic auth registry %q: %w", host, err)
		}
		o.basic[reg.RegistryStr()] = authn.Basic{Username: username, Password: password}
		return nil
	}
}

// WithKeychain adds a keychain consulted after explicit credentials and the CI
// environment, and before the Docker config.
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		o.keychains = append(o.keychains, k)
		return nil
	}
}

// WithEnv replaces os.Getenv as the source of CI credentials.
func WithEnv(getenv func(string) string) Option {
	return func(o *options) error {
		o.env = getenv
		return nil
	}
}

// WithoutDockerConfig skips ~/.docker/config.json and credential helpers.
func WithoutDockerConfig() Option {
	return func(o *options) error {
		o.noDocker = true
		return nil
	}
}

// WithCAFile trusts the PEM certificates in path in addition to the system roots.
func WithCAFile(path string) Option {
	return func(o *options) error {
		o.caFiles = append(o.caFiles, path)
		return nil
	}
}

// WithCACerts trusts the certificates in pool in addition to the system roots.
func WithCACerts(pool *x509.CertPool) Option {
	return func(o *options) error {
		o.caPool = pool
		return nil
	}
}

// WithInsecureSkipTLSVerify accepts any certificate a registry presents:
// a man in the middle can then read credentials and swap images. Prefer
// WithCAFile.
func WithInsecureSkipTLSVerify() Option {
	return func(o *options) error {
		o.skipVerify = true
		return nil
	}
}

// WithHTTPRegistries allows plain HTTP to these registry hosts
// (host[:port]), credentials and all. Without it, plain HTTP is only used
// for loopback addresses.
func WithHTTPRegistries(hosts ...string) Option {
	return func(o *options) error {
		for _, h := range hosts {
			h = strings.TrimSpace(h)
			if h == "" || strings.ContainsAny(h, "/ ") {
				return fmt.Errorf("--allow-http-registry %q: want a registry host[:port]", h)
			}
			if o.httpHosts == nil {
				o.httpHosts = map[string]bool{}
			}
			o.httpHosts[strings.ToLower(h)] = true
		}
		return nil
	}
}

// WithTransport sets the base transport (tests use it to inject faults).
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) error {
		o.base = rt
		return nil
	}
}

// WithRetries sets how many times a transient failure is retried (default 3).
func WithRetries(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("retries must not be negative, got %d", n)
		}
		o.retries = n
		return nil
	}
}

// WithUserAgent sets the User-Agent prefix sent to registries.
func WithUserAgent(ua string) Option {
	return func(o *options) error {
		o.userAgent = ua
		return nil
	}
}

// New validates the options and returns a Client.
func New(opts ...Option) (*Client, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	base := o.base
	if base == nil {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.skipVerify {
			tlsConf.InsecureSkipVerify = true //nolint:gosec // asked for with WithInsecureSkipTLSVerify
		} else if len(o.caFiles) > 0 || o.caPool != nil {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if o.caPool != nil {
				pool = o.caPool.Clone()
			}
			for _, f := range o.caFiles {
				pem, err := os.ReadFile(f)
				if err != nil {
					return nil, fmt.Errorf("reading CA file %q: %w", f, err)
				}
				if !pool.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("CA file %q holds no PEM certificate", f)
				}
			}
			tlsConf.RootCAs = pool
		}
		t.TLSClientConfig = tlsConf
		base = t
	}
	chain := []authn.Keychain{staticKeychain(o.basic), ciKeychain{env: o.env}}
	chain = append(chain, o.keychains...)
	if !o.noDocker {
		chain = append(chain, authn.DefaultKeychain)
	}
	at := newAttempts(base)
	return &Client{
		keychain:  authn.NewMultiKeychain(chain...),
		attempts:  at,
		transport: &schemeGuard{next: at, httpHosts: o.httpHosts},
		insecure:  len(o.httpHosts) > 0,
		retries:   o.retries,
		userAgent: o.userAgent,
	}, nil
}

// Insecure reports whether the client may speak plain HTTP to a registry
// that is not on loopback (WithHTTPRegistries): references are then
// parsed so that go-containerregistry may fall back to HTTP, and the
// transport still refuses every host not on the list.
func (c *Client) Insecure() bool { return c.insecure }

// Retries returns how many times a transient failure is retried.
func (c *Client) Retries() int { return c.retries }

// Keychain returns the credential lookup chain.
func (c *Client) Keychain() authn.Keychain { return c.keychain }

// Transport returns the HTTP transport (with the plain-HTTP guard).
func (c *Client) Transport() http.RoundTripper { return c.transport }

// NameOptions returns the options to parse references with.
func (c *Client) NameOptions() []name.Option {
	if c.insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// ParseReference parses ref with the client's name options.
func (c *Client) ParseReference(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, c.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	return r, nil
}

// RemoteOptions returns go-containerregistry remote options carrying the
// client's credentials, transport, retries and ctx.
func (c *Client) RemoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(c.transport),
		remote.WithUserAgent(c.userAgent),
		remote.WithRetryStatusCodes(http.StatusRequestTimeout, http.StatusTooManyRequests,
			http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable,
			http.StatusGatewayTimeout),
	}
	if c.retries == 0 {
		opts = append(opts, remote.WithRetryBackoff(remote.Backoff{Steps: 1}))
	} else {
		opts = append(opts, remote.WithRetryBackoff(remote.Backoff{
			Duration: 500 * time.Millisecond, Factor: 2.0, Jitter: 0.1, Steps: c.retries + 1,
		}))
	}
	return opts
}

// schemeGuard refuses plain HTTP to anything but loopback and the hosts
// allowed by name. go-containerregistry falls back to HTTP for RFC 1918
// and .local hosts too; credentials must not cross a LAN in the clear by
// default.
type schemeGuard struct {
	next      http.RoundTripper
	httpHosts map[string]bool
}

// ErrPlainHTTP is returned for a plain-HTTP request to a host that is
// neither loopback nor allowed.
var ErrPlainHTTP = errors.New("refusing plain HTTP to a non-loopback registry (allow it by name with --allow-http-registry HOST)")

func (g *schemeGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	host := strings.ToLower(req.URL.Host)
	if req.URL.Scheme == "http" && !IsLoopback(req.URL.Hostname()) && !g.httpHosts[host] && !g.httpHosts[strings.ToLower(req.URL.Hostname())] {
		return nil, fmt.Errorf("%s: %w", req.URL.Host, ErrPlainHTTP)
	}
	return g.next.RoundTrip(req)
}

// IsLoopback reports whether host (without port) is a loopback name or address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
