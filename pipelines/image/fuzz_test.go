package image

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// FuzzParseRef: any string parses or is refused, never panics, and what
// parses prints back to itself.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"oci-dir:out", "oci-archive:app.tar", "docker-archive:a.tar", "docker:app:v1", "registry:r.example/a:v1",
		"ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64), "", ":", "oci-dir:", "registry:", "docker:UPPER", "../../etc/passwd", "sbom:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		again, err := ParseRef(r.String())
		if err != nil || again.String() != r.String() {
			t.Fatalf("%q parsed as %q, which parses as %q (%v)", s, r.String(), again.String(), err)
		}
	})
}

// FuzzParsePlatforms: never panics; what parses has an OS and an
// architecture.
func FuzzParsePlatforms(f *testing.F) {
	for _, s := range []string{"linux/amd64", "linux/arm64/v8,linux/amd64", "all", "", "linux", "/", ",,", "linux/arm/v7:10.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePlatforms(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if p.OS == "" || p.Architecture == "" {
				t.Fatalf("%q gave platform %+v", s, p)
			}
		}
	})
}

func tarOf(entries ...[2]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		tw.WriteHeader(&tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(e[1]))
	}
	tw.Close()
	return b.Bytes()
}

// FuzzOCIArchive: any bytes as an oci-archive (or a docker save archive)
// are unpacked or refused, never panic, never take long, and never write
// outside the unpacking directory.
func FuzzOCIArchive(f *testing.F) {
	f.Add(tarOf([2]string{"index.json", `{"schemaVersion":2,"manifests":[]}`}, [2]string{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`}))
	f.Add(tarOf([2]string{"../escape", "x"}))
	f.Add(tarOf([2]string{"/abs/path", "x"}))
	f.Add(tarOf([2]string{"a/../../b", "x"}))
	f.Add(tarOf([2]string{"index.json", "x"}, [2]string{"index.json", "y"}))
	f.Add(tarOf([2]string{"manifest.json", `[{"Config":"c.json","Layers":["../l.tar"]}]`}))
	f.Add([]byte("not a tar"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		root := t.TempDir()
		p := filepath.Join(root, "in.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		o, _ := makeOptions([]Option{WithTempDir(root), WithArchiveLimits(1<<20, 4<<20, 1000)})
		watchdog := time.AfterFunc(4*time.Second, func() {
			debug.SetTraceback("all")
			panic("FuzzOCIArchive: an input took more than 4s")
		})
		defer watchdog.Stop()
		start := time.Now()
		dir, err := extractOCIArchive(context.Background(), p, o)
		_, _ = checkDockerArchive(p, o)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("reading %d bytes took %v", len(data), d)
		}
		// Everything written is the input or under the unpacking directory.
		filepath.Walk(root, func(q string, fi os.FileInfo, _ error) error {
			if q == root || q == p || (err == nil && (q == dir || strings.HasPrefix(q, dir+string(filepath.Separator)))) {
				return nil
			}
			t.Fatalf("the archive wrote %s outside the unpacking directory", q)
			return nil
		})
	})
}
