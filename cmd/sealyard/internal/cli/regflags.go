package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/registry"
)

// registryFlags are the flags of every command that talks to a registry.
// Passwords never come from a flag's value: stdin, a file, or the
// SEALYARD_REGISTRY_PASSWORD environment variable.
type registryFlags struct {
	username      string
	passwordStdin bool
	fromStdin     *string // the password stdin held, once read
	passwordFile  string
	caFiles       []string
	skipVerify    bool
	httpHosts     []string
	insecure      bool
	retries       int
	// otherHost is the registry the credentials are for when the image
	// itself is local (a gate's baseline image in a registry).
	otherHost string
}

func (f *registryFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.username, "username", "", "registry username (or SEALYARD_REGISTRY_USERNAME)")
	fl.BoolVar(&f.passwordStdin, "password-stdin", false, "read the registry password from stdin")
	fl.StringVar(&f.passwordFile, "password-file", "", "read the registry password from this file (or set SEALYARD_REGISTRY_PASSWORD)")
	fl.StringSliceVar(&f.caFiles, "ca-file", nil, "trust the PEM certificates in this file for registry TLS (repeatable)")
	fl.BoolVar(&f.skipVerify, "insecure-skip-tls-verify", false, "accept any TLS certificate from registries (unsafe: prefer --ca-file)")
	fl.StringArrayVar(&f.httpHosts, "allow-http-registry", nil, "allow plain HTTP to this registry host[:port] (repeatable; loopback is always allowed; unsafe)")
	fl.BoolVar(&f.insecure, "insecure", false, "removed: use --insecure-skip-tls-verify and --allow-http-registry HOST")
	_ = fl.MarkHidden("insecure")
	fl.IntVar(&f.retries, "retries", 3, "retries of a transient registry failure")
}

// unsafe names the weakening registry settings in force.
func (f *registryFlags) unsafe() []string {
	var out []string
	if f.skipVerify {
		out = append(out, "insecure-skip-tls-verify")
	}
	for _, h := range f.httpHosts {
		out = append(out, "allow-http-registry="+h)
	}
	return out
}

// client builds the registry client; explicit credentials apply to host only.
func (f *registryFlags) client(s *streams, host string) (*registry.Client, error) {
	opts := []registry.Option{registry.WithRetries(f.retries)}
	for _, ca := range f.caFiles {
		opts = append(opts, registry.WithCAFile(ca))
	}
	if f.insecure {
		return nil, fmt.Errorf("--insecure is gone: it turned off TLS verification and allowed plain HTTP everywhere at once; say which with --insecure-skip-tls-verify and --allow-http-registry HOST")
	}
	if f.skipVerify {
		opts = append(opts, registry.WithInsecureSkipTLSVerify())
	}
	if len(f.httpHosts) > 0 {
		opts = append(opts, registry.WithHTTPRegistries(f.httpHosts...))
	}
	user := f.username
	if user == "" {
		user = s.getenv("SEALYARD_REGISTRY_USERNAME")
	}
	pass, err := f.password(s)
	if err != nil {
		return nil, err
	}
	if host == "" {
		host = f.otherHost
	}
	switch {
	case user != "" && pass != "":
		if host == "" {
			return nil, fmt.Errorf("registry credentials given, but no registry to use them for")
		}
		opts = append(opts, registry.WithBasicAuth(host, user, pass))
	case user != "" && pass == "":
		return nil, fmt.Errorf("--username %q given without a password (use --password-stdin, --password-file or SEALYARD_REGISTRY_PASSWORD)", user)
	case user == "" && pass != "":
		return nil, fmt.Errorf("a registry password was given without --username")
	}
	opts = append(opts, registry.WithEnv(s.getenv))
	return registry.New(opts...)
}

func (f *registryFlags) password(s *streams) (string, error) {
	switch {
	case f.passwordStdin && f.passwordFile != "":
		return "", fmt.Errorf("use one of --password-stdin and --password-file")
	case f.passwordStdin:
		// Stdin is read once; a command that talks to the registry
		// twice (gate --vex-from-attestation) asks again.
		if f.fromStdin != nil {
			return *f.fromStdin, nil
		}
		b, err := io.ReadAll(io.LimitReader(s.in, 64<<10))
		if err != nil {
			return "", fmt.Errorf("reading password from stdin: %w", err)
		}
		p := strings.TrimRight(string(b), "\r\n")
		f.fromStdin = &p
		return p, nil
	case f.passwordFile != "":
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return "", fmt.Errorf("reading password file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	default:
		return s.getenv("SEALYARD_REGISTRY_PASSWORD"), nil
	}
}
