package publish

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/sealyard/sealyard/pipelines/registry"
)

func inProcessRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func client(t *testing.T, opts ...registry.Option) *registry.Client {
	t.Helper()
	c, err := registry.New(append([]registry.Option{registry.WithoutDockerConfig(), registry.WithEnv(func(string) string { return "" })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func index(t *testing.T) v1.ImageIndex {
	t.Helper()
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func tags(t *testing.T, c *registry.Client, repo string) []string {
	t.Helper()
	r, _ := name.NewRepository(repo)
	got, err := remote.List(r, c.RemoteOptions(context.Background())...)
	if err != nil {
		return nil
	}
	return got
}

func TestPushByDigestThenTag(t *testing.T) {
	ctx := context.Background()
	host := inProcessRegistry(t, nil)
	c := client(t)
	idx := index(t)
	want, _ := idx.Digest()

	pushed, err := Push(ctx, idx, host+"/app:v1", WithRegistry(c))
	if err != nil {
		t.Fatal(err)
	}
	if pushed.DigestStr() != want.String() {
		t.Fatalf("pushed %s, want %s", pushed.DigestStr(), want)
	}
	if got := tags(t, c, host+"/app"); len(got) != 0 {
		t.Fatalf("Push must not tag; tags: %v", got)
	}
	moved, err := Tag(ctx, pushed, []string{"v1", "latest"}, WithRegistry(c))
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 2 {
		t.Fatalf("moved %v", moved)
	}
	for _, tag := range []string{"v1", "latest"} {
		ref, _ := name.ParseReference(host + "/app:" + tag)
		d, err := remote.Head(ref, c.RemoteOptions(ctx)...)
		if err != nil {
			t.Fatal(err)
		}
		if d.Digest != want {
			t.Fatalf("%s -> %s, want %s", tag, d.Digest, want)
		}
	}
}

func TestPushChecksDestinationDigest(t *testing.T) {
	host := inProcessRegistry(t, nil)
	idx := index(t)
	other := "sha256:" + strings.Repeat("0", 64)
	_, err := Push(context.Background(), idx, host+"/app@"+other, WithRegistry(client(t)))
	if err == nil || !strings.Contains(err.Error(), "names digest") {
		t.Fatalf("got %v", err)
	}
}

func TestPushRetriesTransientFailures(t *testing.T) {
	var failures atomic.Int32
	host := inProcessRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && failures.Add(1) <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	img, _ := random.Image(256, 1)
	if _, err := Push(context.Background(), img, host+"/app:v1", WithRegistry(client(t))); err != nil {
		t.Fatalf("push with two transient failures: %v", err)
	}
	if failures.Load() < 3 {
		t.Fatalf("expected retries, saw %d manifest PUTs", failures.Load())
	}
}

func TestPushFailingHalfwayLeavesNothingTagged(t *testing.T) {
	var blobs atomic.Int32
	host := inProcessRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead && strings.Contains(r.URL.Path, "/blobs/") && blobs.Add(1) > 2 {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	c := client(t, registry.WithRetries(1))
	idx := index(t)
	_, err := Push(context.Background(), idx, host+"/app:v1", WithRegistry(c))
	if err == nil {
		t.Fatal("push through a failing registry succeeded")
	}
	d, _ := idx.Digest()
	ref, _ := name.ParseReference(host + "/app@" + d.String())
	if _, err := remote.Head(ref, c.RemoteOptions(context.Background())...); err == nil {
		t.Fatal("the index manifest exists after a failed push")
	}
	if got := tags(t, c, host+"/app"); len(got) != 0 {
		t.Fatalf("tags after a failed push: %v", got)
	}
}

func TestTagsOf(t *testing.T) {
	r, _ := name.ParseReference("example.com/app")
	if got := TagsOf(r); len(got) != 1 || got[0] != "latest" {
		t.Fatalf("got %v", got)
	}
	d, _ := name.ParseReference("example.com/app@sha256:" + strings.Repeat("a", 64))
	if got := TagsOf(d); got != nil {
		t.Fatalf("got %v", got)
	}
}
