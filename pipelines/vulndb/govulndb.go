package vulndb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The Go vulnerability database as a Go module: its data/osv folder holds
// every Go advisory as an OSV record (CC-BY-4.0). The demo and the tests
// build their database from this pinned version.
const (
	GoVulnDBModule  = "golang.org/x/vulndb"
	GoVulnDBVersion = "v0.0.0-20261105234957-e22db6528018"
)

// FetchGoVulnDB downloads module@version through the Go module proxy (or
// finds it in the module cache) and returns its folder of OSV records.
func FetchGoVulnDB(ctx context.Context, version string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", GoVulnDBModule+"@"+version)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Outside any module, so the caller's go.mod is not consulted.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GO111MODULE=on")
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %v: %s%s", GoVulnDBModule, version, err, stderr.String(), stdout.String())
	}
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(stdout.Bytes(), &info); err != nil {
		return "", fmt.Errorf("go mod download printed %q: %w", stdout.String(), err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", GoVulnDBModule, version, info.Error)
	}
	dir := filepath.Join(info.Dir, "data", "osv")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("%s@%s has no data/osv folder: %w", GoVulnDBModule, version, err)
	}
	return dir, nil
}
