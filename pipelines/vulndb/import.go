package vulndb

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/anchore/clio"
	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/db/v6/distribution"
	"github.com/anchore/grype/grype/db/v6/installation"
	"github.com/spf13/afero"
)

var identification = clio.Identification{Name: "sealyard"}

// Import installs a database archive as Anchore publishes them (a
// .tar.gz or .tar.zst holding vulnerability.db), or a bare
// vulnerability.db file, into root. The archive is unpacked and checked in
// a staging directory; the database in root is replaced only if the new one
// opens, has schema v6 and is intact.
func Import(ctx context.Context, archive, root string) (Status, error) {
	if _, err := os.Stat(archive); err != nil {
		return Status{}, fmt.Errorf("database archive %q: %w", archive, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Status{}, err
	}
	stage, err := os.MkdirTemp(root, ".import-*")
	if err != nil {
		return Status{}, err
	}
	defer os.RemoveAll(stage)
	cur, err := installation.NewCurator(installation.Config{DBRootDir: stage, ValidateChecksum: true}, nil)
	if err != nil {
		return Status{}, err
	}
	if err := cur.Import(archive); err != nil {
		return Status{}, fmt.Errorf("%w: importing %q: %w", ErrCorrupt, archive, err)
	}
	if _, err := inspect(stage); err != nil {
		return Status{}, fmt.Errorf("importing %q: %w", archive, err)
	}
	if err := activate(stage, root); err != nil {
		return Status{}, err
	}
	return inspect(root)
}

// UpdateOption configures Update.
type UpdateOption func(*distribution.Config)

// WithListingURL sets where Anchore's database listing is fetched from
// (default https://grype.anchore.io/databases).
func WithListingURL(u string) UpdateOption {
	return func(c *distribution.Config) { c.LatestURL = u }
}

// WithUpdateCACert trusts the PEM certificate at path when fetching.
func WithUpdateCACert(path string) UpdateOption {
	return func(c *distribution.Config) { c.CACert = path }
}

// Update fetches the latest database from Anchore's listing into root when
// it is newer than the one there, and reports whether it did. This needs
// network access to the listing, which offline environments lack: they
// build or import databases instead.
func Update(ctx context.Context, root string, opts ...UpdateOption) (bool, Status, error) {
	cfg := distribution.DefaultConfig()
	cfg.ID = identification
	cfg.RequireUpdateCheck = true
	for _, o := range opts {
		o(&cfg)
	}
	client, err := distribution.NewClient(cfg)
	if err != nil {
		return false, Status{}, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return false, Status{}, err
	}
	cur, err := installation.NewCurator(installation.Config{
		DBRootDir:               root,
		ValidateChecksum:        true,
		UpdateCheckMaxFrequency: time.Nanosecond,
	}, client)
	if err != nil {
		return false, Status{}, err
	}
	updated, err := cur.Update()
	if err != nil {
		return false, Status{}, fmt.Errorf("updating the database from %s: %w", cfg.LatestURL, err)
	}
	st, err := inspect(root)
	return updated, st, err
}

// Install puts the database file at file (a vulnerability.db whose bytes
// must stay as they are: a pulled artifact's layer) under root, recording
// source as where it came from. It is checked in a staging directory
// (it opens, has schema v6, is intact) and replaces the database in root
// only then. Unlike Import, nothing rewrites the file: its digest is the
// one it arrived with.
func Install(file, root, source string) (Status, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Status{}, err
	}
	stage, err := os.MkdirTemp(root, ".install-*")
	if err != nil {
		return Status{}, err
	}
	defer os.RemoveAll(stage)
	if err := os.MkdirAll(dbDir(stage), 0o755); err != nil {
		return Status{}, err
	}
	if err := os.Rename(file, dbFile(stage)); err != nil {
		return Status{}, err
	}
	if _, err := v6.WriteImportMetadata(afero.NewOsFs(), dbDir(stage), source); err != nil {
		return Status{}, err
	}
	if _, err := inspect(stage); err != nil {
		return Status{}, fmt.Errorf("installing %s: %w", source, err)
	}
	if err := activate(stage, root); err != nil {
		return Status{}, err
	}
	return inspect(root)
}
