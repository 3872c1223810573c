package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MaxRetryAfter caps how long a registry's Retry-After is honoured.
const MaxRetryAfter = 30 * time.Second

// attempts counts what went to each registry and how it ended, and
// honours Retry-After: a 429 or 503 that names a delay is held back that
// long (capped, and never past the context's deadline) before the retry
// logic above sees it and tries again.
type attempts struct {
	next http.RoundTripper
	mu   sync.Mutex
	by   map[string]*tally
	last string
	// sleep waits d or until ctx ends (tests replace it).
	sleep func(ctx context.Context, d time.Duration) error
}

type tally struct {
	n          int
	lastStatus int
	lastErr    string
}

func newAttempts(next http.RoundTripper) *attempts {
	return &attempts{next: next, by: map[string]*tally{}, sleep: Sleep}
}

// Sleep waits d, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// operation names a request the way a person reads it: the method and the
// registry path without the upload session's query.
func operation(r *http.Request) string {
	return r.Method + " " + r.URL.Host + r.URL.Path
}

func (a *attempts) RoundTrip(r *http.Request) (*http.Response, error) {
	op := operation(r)
	resp, err := a.next.RoundTrip(r)
	a.mu.Lock()
	t := a.by[op]
	if t == nil {
		t = &tally{}
		a.by[op] = t
	}
	t.n++
	switch {
	case err != nil:
		t.lastErr, t.lastStatus = err.Error(), 0
		a.last = op
	case resp.StatusCode == http.StatusNotFound && (r.Method == http.MethodHead || r.Method == http.MethodGet):
		// Existence checks answer 404 all the time; that is no failure.
	case resp.StatusCode >= 400:
		t.lastStatus, t.lastErr = resp.StatusCode, ""
		a.last = op
	}
	a.mu.Unlock()
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if d > MaxRetryAfter {
				d = MaxRetryAfter
			}
			if dl, ok := r.Context().Deadline(); ok && time.Until(dl) < d {
				d = time.Until(dl)
			}
			if serr := a.sleep(r.Context(), d); serr != nil {
				resp.Body.Close()
				return nil, serr
			}
		}
	}
	return resp, err
}

// retryAfter reads a Retry-After value: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// Explain adds to err what the registry traffic shows: the operation that
// failed last, how many times it was tried, and how it ended. Errors that
// did not come from a registry are returned as they are.
func (c *Client) Explain(err error) error {
	if err == nil || c.attempts == nil {
		return err
	}
	a := c.attempts
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.by[a.last]
	if a.last == "" || t == nil {
		return err
	}
	how := fmt.Sprintf("HTTP %d", t.lastStatus)
	if t.lastStatus == 0 {
		how = t.lastErr
	}
	return &RegistryError{Err: err, Operation: a.last, Attempts: t.n, Last: how}
}

// RegistryError is a failure talking to a registry, with what was tried.
type RegistryError struct {
	Err       error
	Operation string
	Attempts  int
	Last      string
}

func (e *RegistryError) Error() string {
	return fmt.Sprintf("%v (registry: %s, %d attempt(s), last: %s)", e.Err, e.Operation, e.Attempts, e.Last)
}

func (e *RegistryError) Unwrap() error { return e.Err }

// IsRegistryError reports whether err carries registry traffic details.
func IsRegistryError(err error) bool {
	var re *RegistryError
	return errors.As(err, &re)
}
