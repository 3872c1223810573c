package vulndb

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/OneOfOne/xxhash"
	"github.com/spf13/afero"
	"gorm.io/gorm"

	v6 "github.com/anchore/grype/grype/db/v6"
	"github.com/anchore/grype/grype/vulnerability"
)

// SchemaModel is the database schema model sealyard reads.
const SchemaModel = v6.ModelVersion

// DefaultMaxAge is how old a database may be before Open calls it stale,
// as in grype.
const DefaultMaxAge = 5 * 24 * time.Hour

// Errors Open returns, for callers that explain them.
var (
	ErrNoDB    = errors.New("no vulnerability database")
	ErrCorrupt = errors.New("vulnerability database is corrupt")
	ErrSchema  = errors.New("vulnerability database has the wrong schema")
	ErrStale   = errors.New("vulnerability database is stale")
)

// HowToGet tells users how to get a database into dir.
func HowToGet(dir string) string {
	return fmt.Sprintf("build one from OSV records with 'sealyard db build --osv DIR --out %[1]s', import an archive with 'sealyard db import FILE --db %[1]s', or fetch Anchore's with 'sealyard db update --db %[1]s'", dir)
}

// DefaultDir is $SEALYARD_DB_DIR, or sealyard/db under the user cache directory.
func DefaultDir(getenv func(string) string) string {
	if d := getenv("SEALYARD_DB_DIR"); d != "" {
		return d
	}
	if x := getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "sealyard", "db")
	}
	if base, err := os.UserCacheDir(); err == nil {
		return filepath.Join(base, "sealyard", "db")
	}
	return filepath.Join(os.TempDir(), "sealyard", "db")
}

// Provider describes one data source in the database.
type Provider struct {
	Name         string    `json:"name"`
	Version      string    `json:"version,omitempty"`
	Processor    string    `json:"processor,omitempty"`
	DateCaptured time.Time `json:"dateCaptured,omitzero"`
}

// Counts are record counts by kind.
type Counts struct {
	Vulnerabilities  int64 `json:"vulnerabilities"`
	AffectedPackages int64 `json:"affectedPackages"`
	AffectedCPEs     int64 `json:"affectedCPEs"`
	KEV              int64 `json:"kev"`
	EPSS             int64 `json:"epss"`
}

// Status describes a database.
type Status struct {
	// Dir is the database root directory.
	Dir string `json:"dir"`
	// Path is the SQLite file.
	Path string `json:"path"`
	// SchemaVersion is grype's schema version, e.g. "v6.1.10".
	SchemaVersion string `json:"schemaVersion"`
	// Built is when the database was built.
	Built time.Time `json:"built"`
	// Source says where the database came from (a build, an import, a URL).
	Source string `json:"source,omitempty"`
	// Providers lists the data sources.
	Providers []Provider `json:"providers"`
	// Counts are record counts.
	Counts Counts `json:"counts"`
	// Digest is the sha256 of the database file: results record it so a
	// verdict can be replayed against the same data.
	Digest string `json:"digest"`
	// Artifact is REPOSITORY@DIGEST of the signed OCI artifact the
	// database was pulled from, when it was (artifact.json beside it).
	Artifact string `json:"artifact,omitempty"`
}

// ArtifactFile records, beside a pulled database, the artifact it came
// from and the database digest that artifact carried.
const ArtifactFile = "artifact.json"

// ArtifactRecord is the content of ArtifactFile.
type ArtifactRecord struct {
	Reference string `json:"reference"`
	DBDigest  string `json:"dbDigest"`
}

// DB is an open, validated database.
type DB struct {
	status       Status
	reader       v6.Reader
	provider     vulnerability.Provider
	lowLevel     *gorm.DB
	hasPlatforms bool
}

// OpenOption configures Open.
type OpenOption func(*openOptions)

type openOptions struct {
	maxAge time.Duration
	now    func() time.Time
}

// WithMaxAge sets how old a database may be (default DefaultMaxAge).
func WithMaxAge(d time.Duration) OpenOption {
	return func(o *openOptions) { o.maxAge = d }
}

// WithoutAgeCheckUnsafe accepts a database of any age. Offline
// environments that refresh their database by other means use it; results
// against old data miss newer advisories.
func WithoutAgeCheckUnsafe() OpenOption {
	return func(o *openOptions) { o.maxAge = 0 }
}

func dbDir(root string) string     { return filepath.Join(root, strconv.Itoa(v6.ModelVersion)) }
func dbFile(root string) string    { return filepath.Join(dbDir(root), v6.VulnerabilityDBFileName) }
func importFile(dir string) string { return filepath.Join(dir, v6.ImportMetadataFileName) }

// Open validates the database under root and opens it for reading.
func Open(root string, opts ...OpenOption) (*DB, error) {
	o := &openOptions{maxAge: DefaultMaxAge, now: time.Now}
	for _, opt := range opts {
		opt(o)
	}
	st, err := inspect(root)
	if err != nil {
		return nil, err
	}
	if o.maxAge > 0 {
		if age := o.now().Sub(st.Built); age > o.maxAge {
			return nil, fmt.Errorf("%w: %s was built %s ago, more than the %s allowed; %s",
				ErrStale, st.Path, age.Round(time.Hour), o.maxAge, HowToGet(root))
		}
	}
	r, err := v6.NewReader(v6.Config{DBDirPath: dbDir(root)})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, st.Path, err)
	}
	low, err := v6.NewLowLevelDB(st.Path, false, false, false)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, st.Path, err)
	}
	d := &DB{status: st, reader: r, provider: v6.NewVulnerabilityProvider(r), lowLevel: low}
	d.hasPlatforms = low.Migrator().HasTable(platformsTable)
	return d, nil
}

// Status describes the open database.
func (d *DB) Status() Status { return d.status }

// Provider is the grype vulnerability provider over the database.
func (d *DB) Provider() vulnerability.Provider { return d.provider }

// Close releases the database.
func (d *DB) Close() error {
	if d == nil || d.provider == nil {
		return nil
	}
	if d.lowLevel != nil {
		if sqlDB, err := d.lowLevel.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	return d.provider.Close()
}

// Inspect reports the status of the database under root without the age
// check.
func Inspect(root string) (Status, error) { return inspect(root) }

func inspect(root string) (Status, error) {
	path := dbFile(root)
	st := Status{Dir: root, Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("%w in %s; %s", ErrNoDB, root, HowToGet(root))
		}
		return st, fmt.Errorf("%s: %w", path, err)
	}
	if fi.Size() == 0 {
		return st, fmt.Errorf("%w: %s is empty", ErrCorrupt, path)
	}
	im, err := v6.ReadImportMetadata(afero.NewOsFs(), dbDir(root))
	if err != nil {
		return st, fmt.Errorf("%w: %s: %w", ErrCorrupt, importFile(dbDir(root)), err)
	}
	st.Source = im.Source
	sha, xxh, err := digests(path)
	if err != nil {
		return st, err
	}
	if im.Digest != xxh {
		return st, fmt.Errorf("%w: %s does not match the checksum recorded at import (%s, file has %s); re-import or rebuild it", ErrCorrupt, path, im.Digest, xxh)
	}
	st.Digest = sha
	// The artifact record counts only for the database it describes: a
	// later build or import in the same place is not that artifact.
	if raw, err := os.ReadFile(filepath.Join(root, ArtifactFile)); err == nil {
		var a ArtifactRecord
		if json.Unmarshal(raw, &a) == nil && a.DBDigest == sha {
			st.Artifact = a.Reference
		}
	}
	desc, err := readDescription(path)
	if err != nil {
		return st, err
	}
	if desc.SchemaVersion.Model != v6.ModelVersion {
		return st, fmt.Errorf("%w: %s is schema %s, sealyard reads v%d", ErrSchema, path, desc.SchemaVersion, v6.ModelVersion)
	}
	st.SchemaVersion = desc.SchemaVersion.String()
	st.Built = desc.Built.Time.UTC()
	if err := fillDetails(&st); err != nil {
		return st, err
	}
	return st, nil
}

// readDescription reads the schema and build time, turning SQLite's
// complaints about a file that is not a database into ErrCorrupt.
func readDescription(path string) (d *v6.Description, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrCorrupt, path, r)
		}
	}()
	d, err = v6.ReadDescription(path)
	if err != nil {
		if strings.Contains(err.Error(), "not a v6 database") {
			return nil, fmt.Errorf("%w: %s is not a v%d database (%w)", ErrSchema, path, v6.ModelVersion, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	if d == nil {
		return nil, fmt.Errorf("%w: %s has no metadata", ErrCorrupt, path)
	}
	return d, nil
}

func fillDetails(st *Status) error {
	gdb, err := v6.NewLowLevelDB(st.Path, false, false, false)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, st.Path, err)
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer sqlDB.Close()
	}
	var providers []v6.Provider
	if err := gdb.Find(&providers).Error; err != nil {
		return fmt.Errorf("%w: %s: reading providers: %w", ErrCorrupt, st.Path, err)
	}
	for _, p := range providers {
		pr := Provider{Name: p.ID, Version: p.Version, Processor: p.Processor}
		if p.DateCaptured != nil {
			pr.DateCaptured = p.DateCaptured.UTC()
		}
		st.Providers = append(st.Providers, pr)
	}
	sort.Slice(st.Providers, func(i, j int) bool { return st.Providers[i].Name < st.Providers[j].Name })
	count := func(table string, into *int64) {
		var n int64
		if gdb.Table(table).Count(&n).Error == nil {
			*into = n
		}
	}
	count("vulnerability_handles", &st.Counts.Vulnerabilities)
	count("affected_package_handles", &st.Counts.AffectedPackages)
	count("affected_cpe_handles", &st.Counts.AffectedCPEs)
	count("known_exploited_vulnerability_handles", &st.Counts.KEV)
	count("epss_handles", &st.Counts.EPSS)
	return nil
}

// digests returns the sha256 (for results) and xxh64 (grype's checksum) of path.
func digests(path string) (sha, xxh string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	s, x := sha256.New(), xxhash.New64()
	if _, err := io.Copy(io.MultiWriter(s, x), f); err != nil {
		return "", "", fmt.Errorf("reading %s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(s.Sum(nil)), "xxh64:" + hex.EncodeToString(x.Sum(nil)), nil
}
