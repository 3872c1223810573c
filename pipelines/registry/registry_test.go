package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	reached := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	c, err := New(WithoutDockerConfig())
	if err != nil {
		t.Fatal(err)
	}
	// go-containerregistry would fall back to plain HTTP for an RFC 1918
	// address; the guard refuses before anything is sent.
	ref, _ := name.ParseReference("10.1.2.3:5000/app:v1")
	_, err = remote.Get(ref, append(c.RemoteOptions(context.Background()), remote.WithRetryBackoff(remote.Backoff{Steps: 1}))...)
	if !errors.Is(err, ErrPlainHTTP) && (err == nil || !strings.Contains(err.Error(), ErrPlainHTTP.Error())) {
		t.Fatalf("plain HTTP to a LAN registry: %v", err)
	}

	// Loopback is allowed.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/", nil)
	resp, err := c.Transport().RoundTrip(req)
	if err != nil {
		t.Fatalf("loopback plain HTTP refused: %v", err)
	}
	resp.Body.Close()
	if !reached {
		t.Fatal("request did not reach the loopback server")
	}

	// WithHTTPRegistries allows it for the hosts it names, and only
	// those (checked without dialing out).
	dialer := WithTransport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("dialed")
	}))
	ic, _ := New(WithHTTPRegistries("10.1.2.3:5000"), WithoutDockerConfig(), dialer)
	req, _ = http.NewRequest(http.MethodGet, "http://10.1.2.3:5000/v2/", nil)
	if _, err := ic.Transport().RoundTrip(req); err == nil || errors.Is(err, ErrPlainHTTP) {
		t.Fatalf("an allowed HTTP registry: %v", err)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://10.9.9.9:5000/v2/", nil)
	if _, err := ic.Transport().RoundTrip(req); !errors.Is(err, ErrPlainHTTP) {
		t.Fatalf("a registry not on the HTTP list: %v", err)
	}
	// Skipping TLS verification does not open plain HTTP.
	tc, _ := New(WithInsecureSkipTLSVerify(), WithoutDockerConfig(), dialer)
	if _, err := tc.Transport().RoundTrip(req); !errors.Is(err, ErrPlainHTTP) {
		t.Fatalf("--insecure-skip-tls-verify allowed plain HTTP: %v", err)
	}
	if tc.Insecure() {
		t.Fatal("skipping TLS verification made references insecure")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func resolve(t *testing.T, c *Client, host string) authn.AuthConfig {
	t.Helper()
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Keychain().Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return *cfg
}

func TestCredentials(t *testing.T) {
	env := map[string]string{
		"GITHUB_TOKEN":         "gh-token",
		"GITHUB_ACTOR":         "octocat",
		"CI_REGISTRY":          "registry.gitlab.example:5050",
		"CI_JOB_TOKEN":         "job-token",
		"CI_REGISTRY_USER":     "",
		"CI_REGISTRY_PASSWORD": "",
	}
	c, err := New(
		WithBasicAuth("registry.example.com", "alice", "s3cret"),
		WithEnv(func(k string) string { return env[k] }),
		WithoutDockerConfig(),
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host       string
		user, pass string
	}{
		{"registry.example.com", "alice", "s3cret"},
		{"ghcr.io", "octocat", "gh-token"},
		{"registry.gitlab.example:5050", "gitlab-ci-token", "job-token"},
		// Explicit credentials never go to another registry.
		{"other.example.com", "", ""},
	}
	for _, tt := range tests {
		got := resolve(t, c, tt.host)
		if got.Username != tt.user || got.Password != tt.pass {
			t.Errorf("%s: got %q/%q, want %q/%q", tt.host, got.Username, got.Password, tt.user, tt.pass)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	if _, err := New(WithBasicAuth("example.com", "u", "")); err == nil {
		t.Error("basic auth without a password accepted")
	}
	if _, err := New(WithCAFile("/nonexistent/ca.pem")); err == nil {
		t.Error("missing CA file accepted")
	}
	if _, err := New(WithRetries(-1)); err == nil {
		t.Error("negative retries accepted")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"3": 3 * time.Second, "0": 0, now.Add(5 * time.Second).Format(http.TimeFormat): 5 * time.Second} {
		if got, ok := retryAfter(in, now); !ok || got != want {
			t.Errorf("Retry-After %q: %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "soon", "-1"} {
		if _, ok := retryAfter(in, now); ok {
			t.Errorf("Retry-After %q was accepted", in)
		}
	}
}

// Explain names the failing operation, its attempts and how it ended, and
// a 404 from an existence check is not taken for the failure.
func TestExplain(t *testing.T) {
	n := 0
	c, _ := New(WithoutDockerConfig(), WithTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n++
		code := http.StatusServiceUnavailable
		if r.Method == http.MethodHead {
			code = http.StatusNotFound
		}
		return &http.Response{StatusCode: code, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, nil
	})))
	for _, m := range []string{http.MethodPut, http.MethodPut, http.MethodHead} {
		req, _ := http.NewRequest(m, "http://127.0.0.1:5000/v2/app/manifests/v1", nil)
		c.Transport().RoundTrip(req)
	}
	err := c.Explain(errors.New("tagging failed"))
	if !IsRegistryError(err) || !strings.Contains(err.Error(), "PUT 127.0.0.1:5000/v2/app/manifests/v1, 2 attempt(s), last: HTTP 503") {
		t.Fatalf("%v", err)
	}
}
