package image

import (
	"errors"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in         string
		scheme     Scheme
		path, name string
		wantErr    bool
	}{
		{in: "oci-dir:out", scheme: OCIDir, path: "out"},
		{in: "oci-archive:/tmp/a.tar", scheme: OCIArchive, path: "/tmp/a.tar"},
		{in: "docker-archive:app.tar", scheme: DockerArchive, path: "app.tar"},
		{in: "docker:app:dev", scheme: Docker, name: "index.docker.io/library/app:dev"},
		{in: "registry:127.0.0.1:5000/app:v1", scheme: Registry, name: "127.0.0.1:5000/app:v1"},
		{in: "ghcr.io/org/app@sha256:" + hex64, scheme: Registry, name: "ghcr.io/org/app@sha256:" + hex64},
		{in: "localhost:5000/app", scheme: Registry, name: "localhost:5000/app:latest"},
		{in: "", wantErr: true},
		{in: "oci-dir:", wantErr: true},
		{in: "registry:UPPER/case", wantErr: true},
		{in: "ghcr.io/org/app@sha256:abc", wantErr: true},
		{in: "docker:bad@@ref", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseRef(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrBadReference) {
					t.Fatalf("ParseRef(%q) error = %v, want ErrBadReference", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRef(%q): %v", tt.in, err)
			}
			if r.Scheme != tt.scheme || r.Path != tt.path {
				t.Errorf("ParseRef(%q) = %+v", tt.in, r)
			}
			if tt.name != "" && r.Name.Name() != tt.name {
				t.Errorf("ParseRef(%q).Name = %q, want %q", tt.in, r.Name.Name(), tt.name)
			}
			if back, err := ParseRef(r.String()); err != nil || back.String() != r.String() {
				t.Errorf("String() = %q does not parse back (%v)", r.String(), err)
			}
		})
	}
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParsePlatforms(t *testing.T) {
	ps, err := ParsePlatforms("linux/amd64, linux/arm64/v8")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Architecture != "arm64" || ps[1].Variant != "v8" {
		t.Fatalf("got %+v", ps)
	}
	if ps, err := ParsePlatforms("all"); err != nil || ps != nil {
		t.Fatalf("all: %v %v", ps, err)
	}
	if _, err := ParsePlatforms("linux"); err == nil {
		t.Fatal("want an error for a platform without an architecture")
	}
}
