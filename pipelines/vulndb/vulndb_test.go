package vulndb

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/afero"

	v6 "github.com/anchore/grype/grype/db/v6"
)

// small builds a database from the hand-written records in testdata.
func small(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "db")
	res, err := Build(context.Background(), []string{"testdata/osv"}, root)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 4 || res.Status.Counts.Vulnerabilities != 4 {
		t.Fatalf("built %+v", res)
	}
	return root
}

func TestBuildAndStatus(t *testing.T) {
	root := small(t)
	db, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := db.Status()
	if !strings.HasPrefix(st.SchemaVersion, "v6.") || !strings.HasPrefix(st.Digest, "sha256:") || time.Since(st.Built) > time.Minute {
		t.Fatalf("status %+v", st)
	}
	if len(st.Providers) != 1 || st.Providers[0].Name != "govulndb" || st.Counts.AffectedPackages != 4 {
		t.Fatalf("providers %+v counts %+v", st.Providers, st.Counts)
	}
	imps, err := db.GoImports("GO-9999-0004", "golang.org/x/text")
	if err != nil {
		t.Fatal(err)
	}
	if len(imps) != 1 || strings.Join(imps[0].GOOS, ",") != "windows" || imps[0].Applies("linux", "amd64") || !imps[0].Applies("windows", "amd64") {
		t.Fatalf("platform-limited import %+v", imps)
	}
	imps, _ = db.GoImports("GO-9999-0001", "golang.org/x/text")
	if len(imps) != 1 || len(imps[0].GOOS) != 0 || !imps[0].Applies("linux", "arm64") {
		t.Fatalf("unlimited import %+v", imps)
	}
	// Rebuilding replaces the database in place.
	if _, err := Build(context.Background(), []string{"testdata/osv"}, root); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 || entries[0].Name() != "6" {
		t.Fatalf("root holds %v after a rebuild", entries)
	}
}

// TestBuildFromGoVulnDB builds (or reuses the cached build of) the real Go
// vulnerability database at its pinned version.
func TestBuildFromGoVulnDB(t *testing.T) {
	osv, err := FetchGoVulnDB(context.Background(), GoVulnDBVersion)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(osv, "*.json"))
	root := t.TempDir()
	res, err := Build(context.Background(), []string{osv}, root)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != len(files) || int(res.Status.Counts.Vulnerabilities) != len(files) {
		t.Fatalf("%d records, %d files, %d vulnerabilities", res.Records, len(files), res.Status.Counts.Vulnerabilities)
	}
}

func TestOpenErrors(t *testing.T) {
	good := small(t)
	copyRoot := func(t *testing.T) string {
		dst := filepath.Join(t.TempDir(), "db")
		if err := os.CopyFS(dst, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	t.Run("missing", func(t *testing.T) {
		_, err := Open(t.TempDir())
		if !errors.Is(err, ErrNoDB) || !strings.Contains(err.Error(), "sealyard db build") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("bytes changed", func(t *testing.T) {
		root := copyRoot(t)
		f := dbFile(root)
		data, _ := os.ReadFile(f)
		data[len(data)/2] ^= 0xff
		os.WriteFile(f, data, 0o644)
		_, err := Open(root)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("not a database", func(t *testing.T) {
		root := copyRoot(t)
		os.WriteFile(dbFile(root), []byte(strings.Repeat("garbage ", 1000)), 0o644)
		if _, err := v6.WriteImportMetadata(afero.NewOsFs(), dbDir(root), "test"); err != nil {
			t.Fatal(err)
		}
		_, err := Open(root)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("wrong schema", func(t *testing.T) {
		root := copyRoot(t)
		gdb, err := v6.NewLowLevelDB(dbFile(root), false, true, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := gdb.Exec("UPDATE db_metadata SET model = 5").Error; err != nil {
			t.Fatal(err)
		}
		sqlDB, _ := gdb.DB()
		sqlDB.Close()
		if _, err := v6.WriteImportMetadata(afero.NewOsFs(), dbDir(root), "test"); err != nil {
			t.Fatal(err)
		}
		_, err = Open(root)
		if !errors.Is(err, ErrSchema) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("stale", func(t *testing.T) {
		later := func(o *openOptions) { o.now = func() time.Time { return time.Now().Add(48 * time.Hour) } }
		_, err := Open(good, WithMaxAge(24*time.Hour), later)
		if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "sealyard db") {
			t.Fatalf("%v", err)
		}
		db, err := Open(good, later, WithoutAgeCheckUnsafe())
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for n, c := range files {
			os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644)
		}
		return dir
	}
	tests := map[string]struct {
		dirs []string
		want string
	}{
		"invalid JSON":   {[]string{write(t, map[string]string{"a.json": "{not json"})}, "not valid JSON"},
		"no id":          {[]string{write(t, map[string]string{"a.json": `{"schema_version": "1.3.1"}`})}, "has no id"},
		"OSV 2":          {[]string{write(t, map[string]string{"a.json": `{"id": "GO-1", "schema_version": "2.0.0"}`})}, "OSV 1.x"},
		"empty":          {[]string{t.TempDir()}, "no .json records"},
		"missing":        {[]string{filepath.Join(t.TempDir(), "nope")}, "no such file"},
		"duplicate":      {[]string{"testdata/osv", "testdata/osv"}, "is in both"},
		"no directories": {nil, "no OSV directories"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "db")
			_, err := Build(ctx, tt.dirs, root)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if _, err := os.Stat(dbFile(root)); err == nil {
				t.Fatal("a failed build left a database")
			}
		})
	}
}

// archive packs a database as Anchore publishes it: a .tar.gz holding
// vulnerability.db.
func archive(t *testing.T, root, out string) string {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	data, _ := os.ReadFile(dbFile(root))
	tw.WriteHeader(&tar.Header{Name: "vulnerability.db", Size: int64(len(data)), Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	gz.Close()
	f.Close()
	sum := sha256.Sum256(mustRead(t, out))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImport(t *testing.T) {
	src := small(t)
	tgz := filepath.Join(t.TempDir(), "vulnerability-db_v6.1.10_2026-01-01T00:00:00Z.tar.gz")
	archive(t, src, tgz)
	root := filepath.Join(t.TempDir(), "db")
	st, err := Import(context.Background(), tgz, root)
	if err != nil {
		t.Fatal(err)
	}
	if st.Counts.Vulnerabilities != 4 || st.Source != "manual import" {
		t.Fatalf("imported %+v", st)
	}
	before := st.Digest

	garbage := filepath.Join(t.TempDir(), "garbage.tar.gz")
	os.WriteFile(garbage, []byte("not an archive at all"), 0o644)
	if _, err := Import(context.Background(), garbage, root); err == nil {
		t.Fatal("imported garbage")
	}
	after, err := Inspect(root)
	if err != nil || after.Digest != before {
		t.Fatalf("a failed import touched the database: %v %s", err, after.Digest)
	}
}

// TestUpdate serves a listing and an archive from a local server, the way
// Anchore publishes them, so the update path runs for real offline.
func TestUpdate(t *testing.T) {
	src := small(t)
	dir := t.TempDir()
	name := "vulnerability-db_v6.1.10_2026-01-01.tar.gz"
	sum := archive(t, src, filepath.Join(dir, name))
	desc, err := v6.ReadDescription(dbFile(src))
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]any{
		"status":        "active",
		"schemaVersion": desc.SchemaVersion.String(),
		"built":         desc.Built.Format(time.RFC3339),
		"path":          name,
		"checksum":      sum,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch filepath.Base(r.URL.Path) {
		case "latest.json":
			json.NewEncoder(w).Encode(latest)
		case name:
			f, _ := os.Open(filepath.Join(dir, name))
			defer f.Close()
			io.Copy(w, f)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	root := filepath.Join(t.TempDir(), "db")
	updated, st, err := Update(context.Background(), root, WithListingURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if !updated || st.Counts.Vulnerabilities != 4 {
		t.Fatalf("updated=%v %+v", updated, st)
	}
	updated, _, err = Update(context.Background(), root, WithListingURL(srv.URL))
	if err != nil || updated {
		t.Fatalf("second update: updated=%v %v", updated, err)
	}
	_, _, err = Update(context.Background(), filepath.Join(t.TempDir(), "db2"), WithListingURL("http://127.0.0.1:1"))
	if err == nil {
		t.Fatal("update from an unreachable listing succeeded")
	}
	_ = fmt.Sprint
}
