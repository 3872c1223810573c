package vulndb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/afero"

	grypedb "github.com/anchore/grype/grype/db"
	"github.com/anchore/grype/grype/db/provider"
	v6 "github.com/anchore/grype/grype/db/v6"
)

// BuildOption configures Build.
type BuildOption func(*buildOptions)

type buildOptions struct {
	now          func() time.Time
	providerName string
}

// WithBuildTime sets the build timestamp recorded in the database
// (default: now).
func WithBuildTime(t time.Time) BuildOption {
	return func(o *buildOptions) { o.now = func() time.Time { return t } }
}

// WithProviderName names the data source in the database (default
// "govulndb" when every record is a Go advisory, "osv" otherwise).
func WithProviderName(n string) BuildOption {
	return func(o *buildOptions) { o.providerName = n }
}

// BuildResult reports what Build did.
type BuildResult struct {
	Status Status `json:"status"`
	// Records is how many OSV records were read.
	Records int `json:"records"`
}

const maxRecordSize = 16 << 20

// Build turns the OSV records (*.json, searched recursively) in osvDirs
// into a grype v6 database under root, replacing any database there only
// once the new one is complete. It uses grype's own builder, so the
// database is what grype's OSV transformers make of the records: Go
// advisories (GO-*) keep their affected packages and vulnerable symbols.
func Build(ctx context.Context, osvDirs []string, root string, opts ...BuildOption) (BuildResult, error) {
	o := &buildOptions{now: time.Now}
	for _, opt := range opts {
		opt(o)
	}
	if len(osvDirs) == 0 {
		return BuildResult{}, errors.New("no OSV directories given")
	}
	records, err := readRecords(ctx, osvDirs)
	if err != nil {
		return BuildResult{}, err
	}
	name := o.providerName
	if name == "" {
		name = "govulndb"
		for _, r := range records {
			if !strings.HasPrefix(r.id, "GO-") {
				name = "osv"
				break
			}
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return BuildResult{}, err
	}
	work, err := os.MkdirTemp("", "sealyard-osv-workspace-*")
	if err != nil {
		return BuildResult{}, err
	}
	defer os.RemoveAll(work)
	state, err := writeWorkspace(work, name, osvDirs, records, o.now().UTC())
	if err != nil {
		return BuildResult{}, fmt.Errorf("writing OSV workspace: %w", err)
	}
	stage, err := os.MkdirTemp(root, ".build-*")
	if err != nil {
		return BuildResult{}, err
	}
	defer os.RemoveAll(stage)
	stageDB := filepath.Join(stage, "6")
	err = grypedb.Build(grypedb.BuildConfig{
		SchemaVersion: v6.ModelVersion,
		Directory:     stageDB,
		States:        provider.States{*state},
		Timestamp:     o.now().UTC(),
		Hydrate:       true,
	})
	if err != nil {
		return BuildResult{}, fmt.Errorf("building the database: %w", err)
	}
	if err := writePlatforms(filepath.Join(stageDB, v6.VulnerabilityDBFileName), records); err != nil {
		return BuildResult{}, fmt.Errorf("recording Go advisory platforms: %w", err)
	}
	source := "sealyard db build --osv " + strings.Join(osvDirs, " --osv ")
	if _, err := v6.WriteImportMetadata(afero.NewOsFs(), stageDB, source); err != nil {
		return BuildResult{}, err
	}
	if err := activate(stage, root); err != nil {
		return BuildResult{}, err
	}
	st, err := inspect(root)
	if err != nil {
		return BuildResult{}, err
	}
	return BuildResult{Status: st, Records: len(records)}, nil
}

type record struct {
	id, path      string
	schemaVersion string
	raw           json.RawMessage
}

func readRecords(ctx context.Context, dirs []string) ([]record, error) {
	seen := map[string]string{}
	var out []record
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("OSV directory %q: %w", dir, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("OSV directory %q: not a directory", dir)
		}
		n := 0
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(p, ".json") {
				return nil
			}
			r, err := readRecord(p)
			if err != nil {
				return err
			}
			if prev, ok := seen[r.id]; ok {
				return fmt.Errorf("advisory %s is in both %q and %q", r.id, prev, p)
			}
			seen[r.id] = p
			out = append(out, r)
			n++
			return nil
		})
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("OSV directory %q holds no .json records", dir)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

func readRecord(p string) (record, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return record{}, err
	}
	if fi.Size() > maxRecordSize {
		return record{}, fmt.Errorf("OSV record %q is %d bytes, over %d", p, fi.Size(), maxRecordSize)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return record{}, err
	}
	var head struct {
		ID            string          `json:"id"`
		SchemaVersion string          `json:"schema_version"`
		Affected      json.RawMessage `json:"affected"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return record{}, fmt.Errorf("OSV record %q is not valid JSON: %w", p, err)
	}
	if head.ID == "" {
		return record{}, fmt.Errorf("OSV record %q has no id", p)
	}
	if head.SchemaVersion == "" {
		head.SchemaVersion = "1.3.1"
	}
	if !strings.HasPrefix(head.SchemaVersion, "1.") {
		return record{}, fmt.Errorf("OSV record %q has schema_version %q; OSV 1.x is supported", p, head.SchemaVersion)
	}
	return record{id: head.ID, path: p, schemaVersion: head.SchemaVersion, raw: data}, nil
}

// writeWorkspace lays the records out as a vunnel provider workspace, the
// input grype's builder reads.
func writeWorkspace(root, name string, dirs []string, records []record, now time.Time) (*provider.State, error) {
	w := provider.NewWorkspaceWriter(root, name)
	files := make([]provider.File, 0, len(records))
	for _, r := range records {
		envelope, err := json.Marshal(struct {
			Schema     string          `json:"schema"`
			Identifier string          `json:"identifier"`
			Item       json.RawMessage `json:"item"`
		}{
			Schema:     "https://raw.githubusercontent.com/anchore/vunnel/main/schema/vulnerability/osv/schema-" + r.schemaVersion + ".json",
			Identifier: strings.ToLower(r.id),
			Item:       r.raw,
		})
		if err != nil {
			return nil, err
		}
		f, err := w.WriteResult(strings.ToLower(r.id)+".json", envelope)
		if err != nil {
			return nil, err
		}
		files = append(files, *f)
	}
	if err := w.WriteListing(files); err != nil {
		return nil, err
	}
	listing, err := provider.NewFile(w.ListingPath())
	if err != nil {
		return nil, err
	}
	listing.Path = "results/listing.xxh64"
	var urls []string
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			abs = d
		}
		urls = append(urls, "file://"+abs)
	}
	err = w.WriteState(provider.State{
		Provider:  name,
		Version:   1,
		Processor: "sealyard",
		Schema: provider.Schema{
			Version: "1.0.3",
			URL:     "https://raw.githubusercontent.com/anchore/vunnel/main/schema/provider-workspace-state/schema-1.0.3.json",
		},
		URLs:      urls,
		Timestamp: now,
		Listing:   listing,
		Store:     "flat-file",
	})
	if err != nil {
		return nil, err
	}
	return provider.ReadState(filepath.Join(w.Path(), "metadata.json"))
}

// activate moves stage/6 to root/6, replacing what was there.
func activate(stage, root string) error {
	final := dbDir(root)
	old := ""
	if _, err := os.Stat(final); err == nil {
		old = filepath.Join(stage, "previous")
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("moving the old database aside: %w", err)
		}
	}
	if err := os.Rename(filepath.Join(stage, "6"), final); err != nil {
		if old != "" {
			_ = os.Rename(old, final)
		}
		return fmt.Errorf("activating the new database: %w", err)
	}
	return nil
}
