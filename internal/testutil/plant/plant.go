// Package plant makes credentials for tests to plant: real formats that
// gitleaks' rules match, random per run, so none is in the repository and
// a test that finds one found it by its rule. AssertAbsent checks that
// none of them, nor a recognisable part of one, reached an output.
package plant

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func random(t testing.TB, alphabet string, n int) string {
	t.Helper()
	var b strings.Builder
	for range n {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			t.Fatal(err)
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

// GitHubToken is a classic personal access token (rule github-pat).
func GitHubToken(t testing.TB) string { return "ghp_" + random(t, alnum, 36) }

// AWSKeyID is an access key ID (rule aws-access-token).
func AWSKeyID(t testing.TB) string {
	return "AKIA" + random(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
}

// PrivateKeyPEM is a new RSA key, PEM-encoded (rule private-key).
func PrivateKeyPEM(t testing.TB) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
}

// parts are the planted value and pieces of it long enough to identify
// it: its second half and, for a PEM block, a line of its body.
func parts(v string) []string {
	out := []string{v, v[len(v)/2:]}
	if lines := strings.Split(v, "\n"); len(lines) > 2 {
		out = append(out, lines[1], lines[len(lines)/2])
	}
	var long []string
	for _, p := range out {
		if p = strings.TrimSpace(p); len(p) >= 12 {
			long = append(long, p)
		}
	}
	return long
}

// AssertAbsent fails when b holds a planted value or part of one.
func AssertAbsent(t testing.TB, what string, b []byte, planted ...string) {
	t.Helper()
	for _, v := range planted {
		for _, p := range parts(v) {
			if bytes.Contains(b, []byte(p)) {
				t.Fatalf("%s holds a planted secret (or part of one)", what)
			}
		}
	}
}

// AssertAbsentInDir checks every file under dir.
func AssertAbsentInDir(t testing.TB, dir string, planted ...string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		AssertAbsent(t, p, b, planted...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Entry is one tar entry of a layer.
type Entry struct {
	Name, Body string
	Type       byte // tar.TypeReg when zero
}

// Layer is an uncompressed tar of entries.
func Layer(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: typ}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
