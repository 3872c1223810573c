// Command sealyard builds, inventories, scans, gates, signs, pushes and
// verifies container images. Run "sealyard --help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	// Mozilla's root certificates, used only where the system has none:
	// sealyard's released image is the binary alone on scratch, and must
	// still reach public registries and Sigstore over TLS.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/sealyard/sealyard/cmd/sealyard/internal/cli"
	"github.com/sealyard/sealyard/internal/scratch"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	release := scratch.Enter()
	code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	release()
	stop()
	os.Exit(code)
}
