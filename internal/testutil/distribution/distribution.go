// Package distribution starts the CNCF Distribution registry
// (/usr/bin/docker-registry from Debian's docker-registry package) for
// integration tests: on a free 127.0.0.1 port, with a TLS certificate made by
// the test and htpasswd basic auth.
package distribution

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/sealyard/sealyard/pipelines/registry"
)

// Binary is where Debian installs the Distribution registry.
const Binary = "/usr/bin/docker-registry"

// Registry is a running Distribution registry.
type Registry struct {
	// Host is HOST:PORT, as it appears in image references.
	Host string
	// CAFile is the PEM certificate clients must trust.
	CAFile string
	// CAPool holds the same certificate.
	CAPool *x509.CertPool
	// Username and Password are the htpasswd credentials.
	Username, Password string
	// Dir is the registry's storage root.
	Dir string

	cmd *exec.Cmd
}

// Start runs a registry until the test ends. The test fails (it is not
// skipped) when the registry binary is missing: make test installs it.
func Start(t testing.TB) *Registry {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("%s not found: install Debian's docker-registry package (make test does: apt-get install -y docker-registry)", Binary)
	}
	dir := t.TempDir()
	r := &Registry{Username: "sealyard", Password: randomString(t), Dir: filepath.Join(dir, "storage")}
	port := freePort(t)
	r.Host = fmt.Sprintf("127.0.0.1:%d", port)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	r.CAPool = writeCert(t, certFile, keyFile)
	r.CAFile = certFile
	hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(r.Username+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  tls:
    certificate: %s
    key: %s
auth:
  htpasswd:
    realm: sealyard-test
    path: %s
`, r.Dir, r.Host, certFile, keyFile, htpasswd)
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(Binary, "serve", cfgFile)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", Binary, err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		_ = logFile.Close()
	})
	r.waitReady(t, filepath.Join(dir, "registry.log"))
	return r
}

// Stop kills the registry, to test clients against a registry that is down.
func (r *Registry) Stop() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// Client returns a registry client that trusts the registry's certificate
// and logs in with its credentials.
func (r *Registry) Client(t testing.TB, opts ...registry.Option) *registry.Client {
	t.Helper()
	all := append([]registry.Option{
		registry.WithCACerts(r.CAPool),
		registry.WithBasicAuth(r.Host, r.Username, r.Password),
		registry.WithoutDockerConfig(),
		registry.WithEnv(func(string) string { return "" }),
	}, opts...)
	c, err := registry.New(all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *Registry) waitReady(t testing.TB, logPath string) {
	t.Helper()
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.CAPool}},
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get("https://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs, _ := os.ReadFile(logPath)
	t.Fatalf("registry on %s did not become ready:\n%s", r.Host, logs)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomString(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

// writeCert writes a self-signed certificate for 127.0.0.1 and localhost.
func writeCert(t testing.TB, certFile, keyFile string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sealyard test registry"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// HasTag reports whether repo has tag, asking the registry directly.
func (r *Registry) HasTag(t testing.TB, repo, tag string) bool {
	t.Helper()
	for _, x := range r.Tags(t, repo) {
		if x == tag {
			return true
		}
	}
	return false
}

// Tags lists repo's tags, asking the registry directly (a repository that
// does not exist has none).
func (r *Registry) Tags(t testing.TB, repo string) []string {
	t.Helper()
	rp, err := name.NewRepository(r.Host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(rp, r.Client(t).RemoteOptions(context.Background())...)
	if err != nil {
		return nil
	}
	return tags
}
