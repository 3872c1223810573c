package publish

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sealyard/sealyard/internal/testutil/distribution"
	"github.com/sealyard/sealyard/internal/testutil/faultproxy"
	"github.com/sealyard/sealyard/pipelines/registry"
)

// uploadSession is the path of an upload session (PATCH, GET, PUT).
var uploadSession = regexp.MustCompile(`/blobs/uploads/.+`)

// TestResumableUpload pushes an image with a 5 MiB layer in 1 MiB chunks
// to the real Distribution registry through the fault front. A connection
// lost mid-chunk is resumed from the offset the registry reports, so the
// bytes that reach the registry are the layer once; an upload the
// registry lost begins again; a registry that refuses chunks gets the
// blob whole; a connection that never holds fails naming the blob and
// its attempts, and the manifest is not stored. The pulled layer always
// matches its digest.
func TestResumableUpload(t *testing.T) {
	reg := distribution.Start(t)
	layer, err := random.Layer(5<<20, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	size, _ := layer.Size()
	m, _ := img.Manifest()
	// Every PATCH carries the layer or the config.
	blobs := size + m.Config.Size
	const chunk = 1 << 20
	chunks := (size + chunk - 1) / chunk
	layerPatch := func(r faultproxy.Rule) faultproxy.Rule {
		r.Method, r.Path, r.MinBody = "PATCH", uploadSession, chunk
		return r
	}

	for _, tt := range []struct {
		name    string
		rules   []faultproxy.Rule
		chunk   int64
		ok      bool
		chunked bool
		// received is what the client sends, sent what reaches the
		// registry, both in PATCH bodies (0: not checked).
		received, sent int64
	}{
		{
			name:  "connection reset on the third chunk, once",
			rules: []faultproxy.Rule{layerPatch(faultproxy.Rule{After: 2, Times: 1, Kind: faultproxy.Reset})},
			chunk: chunk, ok: true, chunked: true,
			// Half the third chunk is lost; the registry gets every byte once.
			received: blobs + chunk/2, sent: blobs,
		},
		{
			name:  "503 on a chunk, twice",
			rules: []faultproxy.Rule{layerPatch(faultproxy.Rule{After: 3, Times: 2, Kind: faultproxy.Status, Status: 503})},
			chunk: chunk, ok: true, chunked: true,
			sent: blobs,
		},
		{
			name: "the registry lost the upload",
			rules: []faultproxy.Rule{
				layerPatch(faultproxy.Rule{After: 2, Times: 1, Kind: faultproxy.Reset}),
				{Method: "GET", Path: uploadSession, Times: 1, Kind: faultproxy.Status, Status: 404},
			},
			chunk: chunk, ok: true, chunked: true,
			// Two chunks held by the lost session, then the layer again.
			sent: blobs + 2*chunk,
		},
		{
			name:  "the registry refuses chunks",
			rules: []faultproxy.Rule{layerPatch(faultproxy.Rule{Times: 1, Kind: faultproxy.Status, Status: 416})},
			chunk: chunk, ok: true,
			sent: blobs,
		},
		{
			name:  "connection reset on every chunk",
			rules: []faultproxy.Rule{layerPatch(faultproxy.Rule{After: 1, Kind: faultproxy.Reset})},
			chunk: chunk, ok: false,
		},
		{
			// For comparison: in one piece, the reset costs half the
			// layer, sent again from the start.
			name:  "one piece, connection reset once",
			rules: []faultproxy.Rule{layerPatch(faultproxy.Rule{Times: 1, Kind: faultproxy.Reset})},
			chunk: 64 << 20, ok: true,
			received: blobs + size/2, sent: blobs,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			p := faultproxy.Start(t, reg.Host, reg.CAPool)
			for i, r := range tt.rules {
				r.Name = tt.name + string(rune('a'+i))
				p.Add(r)
			}
			c, err := registry.New(registry.WithCAFile(p.CAFile), registry.WithBasicAuth(p.Host, reg.Username, reg.Password),
				registry.WithoutDockerConfig(), registry.WithEnv(func(string) string { return "" }))
			if err != nil {
				t.Fatal(err)
			}
			repo := "upload-" + strings.NewReplacer(" ", "-", ",", "").Replace(tt.name)
			pushed, err := Push(ctx, img, p.Host+"/"+repo, WithRegistry(c), WithChunkSize(tt.chunk))
			if p.Hits(tt.name+"a") == 0 {
				t.Fatalf("the fault never fired: %v", p.Log())
			}
			patches := p.Count("PATCH", uploadSession)
			received, sent := p.Bytes("PATCH", uploadSession)
			t.Logf("%s: %d PATCH request(s); of %d blob bytes, %d sent by the client (%.2f×), %d reached the registry; err=%v",
				tt.name, patches, blobs, received, float64(received)/float64(blobs), sent, err)
			if !tt.ok {
				if err == nil {
					t.Fatal("the push succeeded through a connection that never holds")
				}
				h, _ := layer.Digest()
				if !strings.Contains(err.Error(), h.String()) || !strings.Contains(err.Error(), "attempt") {
					t.Errorf("the error does not name the blob and its attempts: %v", err)
				}
				if strings.Contains(err.Error(), reg.Password) {
					t.Fatal("the password appears in the error")
				}
				d, _ := img.Digest()
				ref, _ := name.NewDigest(reg.Host + "/" + repo + "@" + d.String())
				if _, herr := remote.Head(ref, reg.Client(t).RemoteOptions(ctx)...); herr == nil {
					t.Fatal("the manifest was stored although its layer was not")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked && patches < int(chunks) {
				t.Errorf("%d PATCH requests for %d chunks: the layer did not go up in chunks", patches, chunks)
			}
			if tt.received != 0 && received != tt.received {
				t.Errorf("the client sent %d bytes, want %d", received, tt.received)
			}
			if tt.sent != 0 && sent != tt.sent {
				t.Errorf("%d bytes reached the registry, want %d", sent, tt.sent)
			}
			// The registry holds the layer whole: pulled straight from
			// it, it matches its digest.
			direct, _ := name.NewDigest(strings.Replace(pushed.String(), p.Host, reg.Host, 1))
			back, err := remote.Image(direct, reg.Client(t).RemoteOptions(ctx)...)
			if err != nil {
				t.Fatal(err)
			}
			ls, err := back.Layers()
			if err != nil || len(ls) != 1 {
				t.Fatalf("%d layers (%v)", len(ls), err)
			}
			if err := verifyLayer(ls[0]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// verifyLayer reads l whole; go-containerregistry checks the digest at EOF.
func verifyLayer(l v1.Layer) error {
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

func TestNextLocationRefusesInternalHosts(t *testing.T) {
	req := &http.Request{URL: &url.URL{Scheme: "https", Host: "registry.example:443", Path: "/v2/app/blobs/uploads/"}}
	for _, tt := range []struct {
		loc, want string
	}{
		{"/v2/app/blobs/uploads/abc?_state=x", "https://registry.example:443/v2/app/blobs/uploads/abc?_state=x"},
		{"https://storage.example/upload/abc", "https://storage.example/upload/abc"},
		{"https://169.254.169.254/latest/meta-data", ""},
		{"https://10.0.0.7/upload", ""},
		{"https://127.0.0.1:5000/upload", ""},
		{"https://localhost/upload", ""},
		{"http://registry.example/v2/app/blobs/uploads/abc", ""},
		{"", ""},
	} {
		resp := &http.Response{Header: http.Header{}, Request: req}
		if tt.loc != "" {
			resp.Header.Set("Location", tt.loc)
		}
		got, err := nextLocation(resp)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Location %q was followed to %s", tt.loc, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Location %q: got %q, %v; want %q", tt.loc, got, err, tt.want)
		}
	}
}

func TestRangeEnd(t *testing.T) {
	for in, want := range map[string]int64{"0-0": 0, "0-1048575": 1048575, "bytes=0-99": 99, "": -1, "0--1": -1} {
		if got, err := rangeEnd(in); err != nil || got != want {
			t.Errorf("rangeEnd(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"5-10", "0-x", "0", "0--7", "junk"} {
		if _, err := rangeEnd(bad); err == nil {
			t.Errorf("rangeEnd(%q) accepted", bad)
		}
	}
}
