package publish

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/sealyard/sealyard/internal/testutil/distribution"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/registry"
)

// These tests run against the real CNCF Distribution registry with TLS and
// htpasswd auth.

func TestDistributionPushPull(t *testing.T) {
	ctx := context.Background()
	reg := distribution.Start(t)
	c := reg.Client(t)
	single, _ := random.Image(1024, 2)
	multi := index(t)
	for _, tt := range []struct {
		name string
		a    image.Artifact
	}{{"single", single}, {"multi-platform", multi}} {
		t.Run(tt.name, func(t *testing.T) {
			pushed, err := Push(ctx, tt.a, reg.Host+"/app-"+tt.name+":v1", WithRegistry(c))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Tag(ctx, pushed, []string{"v1"}, WithRegistry(c)); err != nil {
				t.Fatal(err)
			}
			back, err := image.Load(ctx, "registry:"+reg.Host+"/app-"+tt.name+":v1", image.WithRegistry(c))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tt.a.Digest()
			got, _ := back.Artifact.Digest()
			if got != want {
				t.Fatalf("pulled %s, pushed %s", got, want)
			}
			wantImgs, _ := image.Images(tt.a)
			gotImgs, err := image.Images(back.Artifact)
			if err != nil || len(gotImgs) != len(wantImgs) {
				t.Fatalf("pulled %d images (%v), pushed %d", len(gotImgs), err, len(wantImgs))
			}
			for i := range wantImgs {
				w, _ := wantImgs[i].Image.RawConfigFile()
				g, err := gotImgs[i].Image.RawConfigFile()
				if err != nil || string(g) != string(w) {
					t.Fatalf("config %d differs after the round trip (%v)", i, err)
				}
			}
		})
	}
}

func TestDistributionFailures(t *testing.T) {
	ctx := context.Background()
	reg := distribution.Start(t)
	img, _ := random.Image(256, 1)

	wrong, err := registry.New(registry.WithCACerts(reg.CAPool), registry.WithBasicAuth(reg.Host, reg.Username, "wrong-password"),
		registry.WithoutDockerConfig(), registry.WithRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Push(ctx, img, reg.Host+"/app:v1", WithRegistry(wrong))
	if err == nil || !(strings.Contains(err.Error(), "UNAUTHORIZED") || strings.Contains(err.Error(), "401")) {
		t.Fatalf("wrong credentials: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Fatal("the password appears in the error")
	}

	untrusting, _ := registry.New(registry.WithBasicAuth(reg.Host, reg.Username, reg.Password), registry.WithoutDockerConfig(), registry.WithRetries(0))
	_, err = Push(ctx, img, reg.Host+"/app:v1", WithRegistry(untrusting))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate: %v", err)
	}

	reg.Stop()
	_, err = Push(ctx, img, reg.Host+"/app:v1", WithRegistry(reg.Client(t, registry.WithRetries(0))))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("registry down: %v", err)
	}
}
