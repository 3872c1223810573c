// Command sealyard builds, inventories, scans, gates, signs, pushes and
// verifies container images. Run "sealyard --help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

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
