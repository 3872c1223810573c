package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/registry"
)

// DefaultChunkSize is the size of one PATCH of a resumable upload. Blobs
// larger than one chunk are uploaded in chunks, so that a connection lost
// halfway costs at most one chunk, not the whole blob.
const DefaultChunkSize = 16 << 20

// errNoChunks says the registry refused a chunked upload; the blob then
// goes up in one piece, as go-containerregistry sends it.
var errNoChunks = errors.New("the registry does not take chunked uploads")

// chunkedUploader uploads one blob in chunks and resumes it, after a
// failure, from the offset the registry reports holding (the OCI
// distribution spec's upload status, GET on the upload location). When
// the registry has lost the upload, it starts over.
type chunkedUploader struct {
	client  *http.Client
	repo    name.Repository
	chunk   int64
	retries int
	// sleep waits between attempts (tests replace it).
	sleep func(ctx context.Context, d time.Duration) error
}

func newChunkedUploader(ctx context.Context, c *registry.Client, repo name.Repository, chunk int64) (*chunkedUploader, error) {
	auth, err := authn.Resolve(ctx, c.Keychain(), repo)
	if err != nil {
		return nil, fmt.Errorf("resolving credentials for %s: %w", repo.RegistryStr(), err)
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, c.Transport(), []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, fmt.Errorf("authenticating to %s: %w", repo.RegistryStr(), err)
	}
	return &chunkedUploader{
		client:  &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		repo:    repo,
		chunk:   chunk,
		retries: c.Retries(),
		sleep:   registry.Sleep,
	}, nil
}

func (u *chunkedUploader) url(path string) string {
	return (&url.URL{Scheme: u.repo.Scheme(), Host: u.repo.RegistryStr(), Path: path}).String()
}

// exists reports whether the registry holds the blob already.
func (u *chunkedUploader) exists(ctx context.Context, h v1.Hash) (bool, error) {
	resp, err := u.do(ctx, http.MethodHead, u.url(fmt.Sprintf("/v2/%s/blobs/%s", u.repo.RepositoryStr(), h)), nil, nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK, http.StatusNotFound); err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK, nil
}

func (u *chunkedUploader) do(ctx context.Context, method, loc string, body []byte, hdr http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, loc, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	resp, err := u.client.Do(req)
	var ue *url.Error
	if errors.As(err, &ue) {
		// Upload locations carry session state, and on some registries
		// signed storage URLs: errors name the path only.
		if pu, perr := url.Parse(ue.URL); perr == nil {
			pu.RawQuery = ""
			ue.URL = pu.String()
		}
	}
	return resp, err
}

// start opens an upload session and returns its location.
func (u *chunkedUploader) start(ctx context.Context) (string, error) {
	resp, err := u.do(ctx, http.MethodPost, u.url(fmt.Sprintf("/v2/%s/blobs/uploads/", u.repo.RepositoryStr())), nil, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return "", err
	}
	return nextLocation(resp)
}

// status asks how much of the upload at loc the registry holds. ok is
// false when the registry no longer knows the upload.
func (u *chunkedUploader) status(ctx context.Context, loc string) (offset int64, next string, ok bool, err error) {
	resp, err := u.do(ctx, http.MethodGet, loc, nil, nil)
	if err != nil {
		return 0, "", false, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNoContent:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest:
		return 0, "", false, nil // BLOB_UPLOAD_UNKNOWN or _INVALID: begin again
	default:
		return 0, "", false, transport.CheckError(resp, http.StatusNoContent)
	}
	end, err := rangeEnd(resp.Header.Get("Range"))
	if err != nil {
		return 0, "", false, err
	}
	next = loc
	if resp.Header.Get("Location") != "" {
		if next, err = nextLocation(resp); err != nil {
			return 0, "", false, err
		}
	}
	return end + 1, next, true, nil
}

// patch sends b as the bytes from offset on and returns the next location
// and the offset the registry now holds up to.
func (u *chunkedUploader) patch(ctx context.Context, loc string, offset int64, b []byte) (string, int64, error) {
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Range", fmt.Sprintf("%d-%d", offset, offset+int64(len(b))-1))
	resp, err := u.do(ctx, http.MethodPatch, loc, b, hdr)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		return "", 0, errNoChunks
	}
	if err := transport.CheckError(resp, http.StatusAccepted, http.StatusNoContent, http.StatusCreated); err != nil {
		return "", 0, err
	}
	next, err := nextLocation(resp)
	if err != nil {
		return "", 0, err
	}
	held := offset + int64(len(b))
	if r := resp.Header.Get("Range"); r != "" {
		end, err := rangeEnd(r)
		if err != nil {
			return "", 0, err
		}
		held = end + 1
	}
	return next, held, nil
}

// commit ends the upload at loc as the blob h.
func (u *chunkedUploader) commit(ctx context.Context, loc string, h v1.Hash) error {
	cu, err := url.Parse(loc)
	if err != nil {
		return err
	}
	q := cu.Query()
	q.Set("digest", h.String())
	cu.RawQuery = q.Encode()
	resp, err := u.do(ctx, http.MethodPut, cu.String(), []byte{}, http.Header{"Content-Type": {"application/octet-stream"}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusCreated); err != nil {
		return err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != h.String() {
		return fmt.Errorf("the registry stored the blob as %s, but it is %s", got, h)
	}
	return nil
}

// upload sends the blob l, size bytes, in chunks. A failed request (a
// connection lost, a 5xx or 429) is followed by a status request: the
// upload goes on from what the registry holds, or begins again when the
// registry lost it. Failures in a row without progress are bounded by the
// client's retries.
func (u *chunkedUploader) upload(ctx context.Context, l v1.Layer, h v1.Hash, size int64) error {
	var (
		rc      io.ReadCloser
		read    int64 // bytes of the stream consumed
		loc     string
		offset  int64 // bytes the registry holds
		fails   int
		lastErr error
	)
	defer func() {
		if rc != nil {
			rc.Close()
		}
	}()
	// seek positions the blob stream at off, reopening it when it has
	// gone past.
	seek := func(off int64) error {
		if rc == nil || read > off {
			if rc != nil {
				rc.Close()
			}
			var err error
			if rc, err = l.Compressed(); err != nil {
				return err
			}
			read = 0
		}
		n, err := io.CopyN(io.Discard, rc, off-read)
		read += n
		return err
	}
	// failed records a transient failure and waits before the next try.
	failed := func(err error) error {
		lastErr = err
		fails++
		if fails > u.retries {
			return fmt.Errorf("uploading blob %s: %d attempt(s) in a row failed, %d of %d bytes held by the registry: %w", h, fails, offset, size, lastErr)
		}
		d := time.Duration(float64(500*time.Millisecond) * float64(int(1)<<(fails-1)) * (0.9 + 0.2*rand.Float64()))
		return u.sleep(ctx, d)
	}
	buf := make([]byte, u.chunk)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if loc == "" {
			var err error
			if loc, err = u.start(ctx); err != nil {
				if !temporary(err) {
					return err
				}
				if ferr := failed(err); ferr != nil {
					return ferr
				}
				continue
			}
			offset = 0
		}
		if offset == size {
			err := u.commit(ctx, loc, h)
			if err == nil {
				return nil
			}
			if !temporary(err) {
				return err
			}
			if ferr := failed(err); ferr != nil {
				return ferr
			}
			loc = "" // a failed commit leaves the session in doubt
			continue
		}
		if err := seek(offset); err != nil {
			return fmt.Errorf("reading blob %s at %d: %w", h, offset, err)
		}
		n, err := io.ReadFull(rc, buf[:min(u.chunk, size-offset)])
		read += int64(n)
		if err != nil {
			return fmt.Errorf("reading blob %s at %d: %w", h, offset, err)
		}
		next, held, err := u.patch(ctx, loc, offset, buf[:n])
		if err == nil {
			if held <= offset || held > offset+int64(n) {
				return fmt.Errorf("uploading blob %s: the registry holds bytes up to %d after a chunk ending at %d", h, held, offset+int64(n))
			}
			loc, offset, fails = next, held, 0
			continue
		}
		if errors.Is(err, errNoChunks) || (offset == 0 && isRefusal(err)) {
			return errNoChunks
		}
		if !temporary(err) {
			return err
		}
		if ferr := failed(err); ferr != nil {
			return ferr
		}
		// Ask what arrived; go on from there, or begin again.
		held, sloc, ok, serr := u.status(ctx, loc)
		switch {
		case serr != nil:
			// The status itself failed: the next attempt asks again.
			if !temporary(serr) {
				return serr
			}
		case !ok || held > size:
			loc = ""
		default:
			loc, offset = sloc, held
		}
	}
}

// isRefusal tells a registry that refuses chunks (405, 416, 400 on the
// first PATCH) from one that failed.
func isRefusal(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	switch te.StatusCode {
	case http.StatusMethodNotAllowed, http.StatusRequestedRangeNotSatisfiable, http.StatusBadRequest, http.StatusNotImplemented:
		return true
	}
	return false
}

// temporary reports whether a failed request may be tried again: a lost
// connection, a timeout, 408, 429 and 5xx answers.
func temporary(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe")
}

// rangeEnd reads the last byte offset of a Range header ("0-1234" or
// "bytes=0-1234"). "0--1" is what some registries say for nothing held.
func rangeEnd(r string) (int64, error) {
	r = strings.TrimPrefix(strings.TrimSpace(r), "bytes=")
	if r == "" {
		return -1, nil
	}
	first, last, ok := strings.Cut(r, "-")
	if !ok || first != "0" {
		return 0, fmt.Errorf("the registry sent an unreadable upload Range %q", r)
	}
	if last == "-1" {
		return -1, nil
	}
	end, err := strconv.ParseInt(last, 10, 64)
	if err != nil || end < -1 {
		return 0, fmt.Errorf("the registry sent an unreadable upload Range %q", r)
	}
	return end, nil
}

// nextLocation resolves the upload location a registry sent. A location
// on another host that is a private, loopback or link-local address is
// refused: a registry must not steer the layer bytes (and the
// credentials) into the network it runs in.
func nextLocation(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", errors.New("the registry sent no upload Location")
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("the registry sent an unreadable upload Location: %w", err)
	}
	resolved := resp.Request.URL.ResolveReference(u)
	if h := resolved.Hostname(); h != resp.Request.URL.Hostname() && internalHost(h) {
		return "", fmt.Errorf("the registry sent an upload Location on another, internal host %q", h)
	}
	if resolved.Scheme != "https" && resolved.Scheme != resp.Request.URL.Scheme {
		return "", fmt.Errorf("the registry sent an upload Location that downgrades to %s", resolved.Scheme)
	}
	return resolved.String(), nil
}

// internalHost reports whether h names a loopback, private, link-local or
// unspecified address.
func internalHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified())
}

// uploadLarge uploads, before go-containerregistry's push, each blob of a
// larger than one chunk that the repository does not hold, in resumable
// chunks (o.jobs blobs at a time). The push that follows finds them present. A registry that
// refuses chunks leaves them to the push, which sends them whole.
func uploadLarge(ctx context.Context, a image.Artifact, repo name.Repository, o *options) error {
	layers, err := largeLayers(a, o.chunk)
	if err != nil || len(layers) == 0 {
		return err
	}
	u, err := newChunkedUploader(ctx, o.registry, repo, o.chunk)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.jobs)
	for _, l := range layers {
		g.Go(func() error {
			h, err := l.Digest()
			if err != nil {
				return err
			}
			size, err := l.Size()
			if err != nil {
				return err
			}
			if ok, err := u.exists(gctx, h); err != nil {
				return fmt.Errorf("checking blob %s: %w", h, err)
			} else if ok {
				return nil
			}
			if err := u.upload(gctx, l, h, size); err != nil && !errors.Is(err, errNoChunks) {
				return err
			}
			return nil
		})
	}
	return g.Wait()
}

// largeLayers lists the distinct layers of a larger than chunk bytes.
func largeLayers(a image.Artifact, chunk int64) ([]v1.Layer, error) {
	imgs, err := image.Images(a)
	if err != nil {
		return nil, err
	}
	seen := map[v1.Hash]bool{}
	var out []v1.Layer
	for _, pi := range imgs {
		ls, err := pi.Image.Layers()
		if err != nil {
			return nil, fmt.Errorf("listing layers: %w", err)
		}
		for _, l := range ls {
			h, err := l.Digest()
			if err != nil {
				return nil, err
			}
			size, err := l.Size()
			if err != nil {
				return nil, err
			}
			if size > chunk && !seen[h] {
				seen[h] = true
				out = append(out, l)
			}
		}
	}
	return out, nil
}
