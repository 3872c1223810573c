// Package vulndb manages grype's v6 vulnerability database without the
// internet: Build turns OSV records (such as the Go vulnerability database)
// into a database with grype's own builder and OSV transformers, Import
// installs an archive as Anchore publishes them, Update fetches Anchore's
// listing when a network allows it, and Open validates a database (present,
// intact, of schema v6, not stale) and reports its Status, whose content
// digest every scan records.
//
// A database directory has grype's layout (DIR/6/vulnerability.db and
// DIR/6/import.json), so grype itself can read it with GRYPE_DB_CACHE_DIR.
package vulndb
