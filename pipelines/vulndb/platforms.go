package vulndb

import (
	"encoding/json"
	"fmt"
	"strings"

	v6 "github.com/anchore/grype/grype/db/v6"
)

// grype's schema keeps the packages and symbols of Go advisories but not
// the operating systems and architectures they are limited to (OSV
// ecosystem_specific.imports[].goos/goarch). Without them a Windows-only
// advisory would be reported for Linux binaries. Build records them in a
// table of their own inside the database file, which grype ignores and the
// database digest covers.
const platformsTable = "sealyard_go_platforms"

type platformRow struct {
	VulnID string `gorm:"column:vuln_id"`
	Module string `gorm:"column:module"`
	Path   string `gorm:"column:path"`
	GOOS   string `gorm:"column:goos"`
	GOARCH string `gorm:"column:goarch"`
}

// platformRows extracts the platform-limited imports of a record.
func platformRows(r record) ([]platformRow, error) {
	var osv struct {
		Affected []struct {
			Package struct {
				Name string `json:"name"`
			} `json:"package"`
			EcosystemSpecific struct {
				Imports []struct {
					Path   string   `json:"path"`
					GOOS   []string `json:"goos"`
					GOARCH []string `json:"goarch"`
				} `json:"imports"`
			} `json:"ecosystem_specific"`
		} `json:"affected"`
	}
	if err := json.Unmarshal(r.raw, &osv); err != nil {
		return nil, fmt.Errorf("OSV record %q: %w", r.path, err)
	}
	var rows []platformRow
	for _, a := range osv.Affected {
		for _, imp := range a.EcosystemSpecific.Imports {
			if len(imp.GOOS) == 0 && len(imp.GOARCH) == 0 {
				continue
			}
			rows = append(rows, platformRow{
				VulnID: r.id, Module: a.Package.Name, Path: imp.Path,
				GOOS: strings.Join(imp.GOOS, ","), GOARCH: strings.Join(imp.GOARCH, ","),
			})
		}
	}
	return rows, nil
}

// writePlatforms adds the platform table to the database file at path.
func writePlatforms(path string, records []record) error {
	var rows []platformRow
	for _, r := range records {
		rs, err := platformRows(r)
		if err != nil {
			return err
		}
		rows = append(rows, rs...)
	}
	gdb, err := v6.NewLowLevelDB(path, false, true, false)
	if err != nil {
		return err
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer sqlDB.Close()
	}
	if err := gdb.Exec("CREATE TABLE " + platformsTable + " (vuln_id TEXT NOT NULL, module TEXT NOT NULL, path TEXT NOT NULL, goos TEXT, goarch TEXT)").Error; err != nil {
		return err
	}
	if err := gdb.Exec("CREATE INDEX " + platformsTable + "_idx ON " + platformsTable + " (vuln_id, module)").Error; err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	return gdb.Table(platformsTable).CreateInBatches(rows, 500).Error
}

// platforms returns the GOOS and GOARCH limits of each import path the
// advisory lists for module, when the database has them.
func (d *DB) platforms(vulnID, module string) (map[string]platformRow, error) {
	if !d.hasPlatforms {
		return nil, nil
	}
	var rows []platformRow
	err := d.lowLevel.Table(platformsTable).Where("vuln_id = ? AND module = ?", vulnID, module).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("reading platforms of %s: %w", vulnID, err)
	}
	out := make(map[string]platformRow, len(rows))
	for _, r := range rows {
		out[r.Path] = r
	}
	return out, nil
}

// Applies reports whether an import limited to goos/goarch applies to a
// binary for os/arch (an empty limit matches everything), as govulncheck
// decides.
func (g GoImport) Applies(os, arch string) bool {
	return matchesAny(g.GOOS, os) && matchesAny(g.GOARCH, arch)
}

func matchesAny(list []string, v string) bool {
	if len(list) == 0 || v == "" {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
