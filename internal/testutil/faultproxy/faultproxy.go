// Package faultproxy puts a fault-injecting front before the real
// Distribution registry of a test: a TLS reverse proxy that passes
// requests through until a rule says otherwise, and then answers with an
// HTTP error (500, 502, 503, 429 with Retry-After), resets the connection
// halfway through a body, stalls past a deadline, truncates a body, lies
// about Docker-Content-Digest, serves another manifest than the one asked
// for, or refuses a bearer token as if it had expired. Rules match by
// method and path and fire on the Nth matching request, a number of times.
// Every request is logged, so tests can count retries.
package faultproxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind is what a rule does to a request.
type Kind string

// The faults.
const (
	// Status answers with Rule.Status (and Retry-After when set).
	Status Kind = "status"
	// Reset drops the connection halfway: for a request with a body (an
	// upload), after reading half of it and before the registry sees it;
	// otherwise after sending the headers and half the response body.
	Reset Kind = "reset"
	// Stall waits Rule.Stall before passing the request through.
	Stall Kind = "stall"
	// Truncate sends a Content-Length for the whole body and half of it.
	Truncate Kind = "truncate"
	// WrongDigest passes the request through with another
	// Docker-Content-Digest header.
	WrongDigest Kind = "wrong-digest"
	// OtherManifest answers a manifest GET with Rule.Body (another
	// manifest) and its real digest.
	OtherManifest Kind = "other-manifest"
	// ExpiredToken answers 401 with a bearer challenge, as a registry does
	// for a token that expired mid-run.
	ExpiredToken Kind = "expired-token"
)

// Rule injects one fault.
type Rule struct {
	// Name describes the rule in logs and tables.
	Name string
	// Method ("" for any) and Path (a regular expression on the URL path)
	// select requests.
	Method string
	Path   *regexp.Regexp
	// MinBody, when set, selects only requests whose body is at least
	// that many bytes (a layer upload, not the config's).
	MinBody int64
	// After skips that many matching requests first; Times is how many it
	// then hits (0: every one after).
	After, Times int
	Kind         Kind
	Status       int
	RetryAfter   string
	Stall        time.Duration
	Body         []byte
	// Hits counts the requests the rule changed.
	hits, seen int
}

// Request is one request the proxy saw, and what it did with it.
type Request struct {
	Method, Path string
	// Fault names the rule that fired, or "".
	Fault string
	// Received is how many request body bytes the client sent; Sent is
	// how many of them reached the registry (none of a reset request's).
	Received, Sent int64
}

// Proxy is a running fault-injecting front.
type Proxy struct {
	// Host is host:port to give sealyard instead of the registry's.
	Host string
	// CAFile holds the proxy's certificate (give it as --ca-file).
	CAFile string

	srv    *httptest.Server
	target *url.URL
	mu     sync.Mutex
	rules  []*Rule
	log    []Request
}

// Start fronts the registry at host (its TLS trusted through pool).
func Start(t testing.TB, host string, pool *x509.CertPool) *Proxy {
	t.Helper()
	target, _ := url.Parse("https://" + host)
	p := &Proxy{target: target}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	rp.ModifyResponse = func(resp *http.Response) error {
		// Upload locations name the registry; point them back here.
		if loc := resp.Header.Get("Location"); loc != "" {
			resp.Header.Set("Location", strings.Replace(loc, "https://"+target.Host, p.srv.URL, 1))
		}
		return nil
	}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule, i := p.match(r)
		if r.Body != nil {
			cb := &countingBody{ReadCloser: r.Body}
			r.Body = cb
			defer func() {
				p.mu.Lock()
				p.log[i].Received = cb.n
				if rule == nil || rule.Kind != Reset {
					p.log[i].Sent = cb.n
				}
				p.mu.Unlock()
			}()
		}
		if rule == nil {
			r.Host = target.Host
			rp.ServeHTTP(w, r)
			return
		}
		p.apply(rule, rp, w, r)
	}))
	t.Cleanup(p.srv.Close)
	p.Host = strings.TrimPrefix(p.srv.URL, "https://")
	p.CAFile = filepath.Join(t.TempDir(), "faultproxy-ca.pem")
	if err := os.WriteFile(p.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Add installs a rule.
func (p *Proxy) Add(r Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rc := r
	p.rules = append(p.rules, &rc)
}

// Clear removes every rule (the registry is healthy again).
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Log returns the requests seen so far.
func (p *Proxy) Log() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Count returns how many requests matched method and path.
func (p *Proxy) Count(method string, path *regexp.Regexp) int {
	n := 0
	for _, r := range p.Log() {
		if (method == "" || r.Method == method) && path.MatchString(r.Path) {
			n++
		}
	}
	return n
}

// Hits returns how many requests the named rule changed.
func (p *Proxy) Hits(name string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.rules {
		if r.Name == name {
			n += r.hits
		}
	}
	return n
}

// Bytes returns how many request body bytes the client sent through
// requests that matched method and path, and how many of them reached the
// registry.
func (p *Proxy) Bytes(method string, path *regexp.Regexp) (received, sent int64) {
	for _, r := range p.Log() {
		if (method == "" || r.Method == method) && path.MatchString(r.Path) {
			received += r.Received
			sent += r.Sent
		}
	}
	return received, sent
}

type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n += int64(n)
	return n, err
}

func (p *Proxy) match(r *http.Request) (*Rule, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var hit *Rule
	for _, rule := range p.rules {
		if (rule.Method != "" && rule.Method != r.Method) || !rule.Path.MatchString(r.URL.Path) ||
			(rule.MinBody > 0 && r.ContentLength >= 0 && r.ContentLength < rule.MinBody) {
			continue
		}
		rule.seen++
		if hit == nil && rule.seen > rule.After && (rule.Times == 0 || rule.hits < rule.Times) {
			rule.hits++
			hit = rule
		}
	}
	req := Request{Method: r.Method, Path: r.URL.Path}
	if hit != nil {
		req.Fault = hit.Name
	}
	p.log = append(p.log, req)
	return hit, len(p.log) - 1
}

func (p *Proxy) apply(rule *Rule, rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request) {
	switch rule.Kind {
	case Status:
		if rule.RetryAfter != "" {
			w.Header().Set("Retry-After", rule.RetryAfter)
		}
		http.Error(w, fmt.Sprintf("injected %d", rule.Status), rule.Status)
	case ExpiredToken:
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://`+r.Host+`/token",service="registry",error="invalid_token",error_description="token expired"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}`, http.StatusUnauthorized)
	case Stall:
		select {
		case <-time.After(rule.Stall):
		case <-r.Context().Done():
			return
		}
		r.Host = p.target.Host
		rp.ServeHTTP(w, r)
	case Reset, Truncate:
		if rule.Kind == Reset && r.Body != nil && r.ContentLength != 0 && r.Method != http.MethodGet && r.Method != http.MethodHead {
			half := r.ContentLength / 2
			if half <= 0 {
				half = 1
			}
			io.CopyN(io.Discard, r.Body, half)
			hijackClose(w)
			return
		}
		rec := httptest.NewRecorder()
		r.Host = p.target.Host
		rp.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, vs := range rec.Header() {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if rule.Kind == Reset {
			hijackClose(w)
		}
	case WrongDigest:
		rec := httptest.NewRecorder()
		r.Host = p.target.Host
		rp.ServeHTTP(rec, r)
		for k, vs := range rec.Header() {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		if w.Header().Get("Docker-Content-Digest") != "" {
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
		}
		w.WriteHeader(rec.Code)
		io.Copy(w, rec.Body)
	case OtherManifest:
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Content-Length", strconv.Itoa(len(rule.Body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(rule.Body)
		}
	default:
		http.Error(w, "unknown fault "+string(rule.Kind), http.StatusInternalServerError)
	}
}

// hijackClose drops the client's connection without an HTTP response.
func hijackClose(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(interface{ SetLinger(int) error }); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
