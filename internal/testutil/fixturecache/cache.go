// Package fixturecache keeps test fixtures that are costly to make (built
// vulnerability databases, compiled programs, Debian root filesystems) in a
// cache folder outside the repository, keyed by everything that goes into
// them, so a change of input makes a new entry instead of a stale hit.
//
// The folder is $SEALYARD_TEST_CACHE, or sealyard-test under the user cache
// directory. Entries are built in a temporary directory and renamed into
// place, so concurrent test processes never see a half-built entry.
package fixturecache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Root returns the cache folder, creating it.
func Root(t testing.TB) string {
	t.Helper()
	root := os.Getenv("SEALYARD_TEST_CACHE")
	if root == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		root = filepath.Join(base, "sealyard-test")
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatalf("creating fixture cache: %v", err)
	}
	return root
}

// Key hashes the parts that determine a fixture.
func Key(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Dir returns the cached directory for name and key, calling make to fill a
// fresh directory when there is no entry yet.
func Dir(t testing.TB, name, key string, make func(dir string) error) string {
	t.Helper()
	root := Root(t)
	final := filepath.Join(root, name+"-"+key)
	if fi, err := os.Stat(final); err == nil && fi.IsDir() {
		return final
	}
	tmp, err := os.MkdirTemp(root, "."+name+"-*")
	if err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	if err := make(tmp); err != nil {
		_ = os.RemoveAll(tmp)
		t.Fatalf("making fixture %s: %v", name, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		// Another process finished first; use its entry.
		_ = os.RemoveAll(tmp)
		if _, statErr := os.Stat(final); statErr != nil {
			t.Fatalf("fixture %s: %v", name, err)
		}
	}
	return final
}

// SafeName turns s into something usable in a file name.
func SafeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
