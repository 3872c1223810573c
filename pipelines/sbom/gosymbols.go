package sbom

import (
	"bytes"
	"debug/elf"
	"debug/macho"
	"encoding/binary"
	"io"
	"slices"
	"strings"

	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/pkg"
	syftsbom "github.com/anchore/syft/syft/sbom"
)

// The Go standard library vendors some golang.org/x packages under
// "vendor/golang.org/x/..." (net/http uses vendor/golang.org/x/net/idna,
// for instance). When a binary also depends on the golang.org/x module
// itself, syft v1.57.0 attributes the standard library's vendored symbols
// to that module, so a program that never calls idna looks as if it did,
// and x/net advisories on idna turn up as reachable where govulncheck (the
// reference) says they are not. correctVendoredSymbols re-reads each
// affected binary's function-name table and keeps, for the import paths the
// standard library vendors, only the symbols the module itself contributes.
// (captureGoSymbols, in gosymbols_capture.go, never makes the mistake.)

// maxBinaryRead bounds how much of one binary is read to correct symbols.
const maxBinaryRead = 1 << 30

func correctVendoredSymbols(s *syftsbom.SBOM, res file.Resolver) {
	names := map[file.Coordinates]*funcNames{}
	fixed := map[artifact.ID]pkg.Package{}
	for _, p := range s.Artifacts.Packages.Sorted() {
		m, ok := p.Metadata.(pkg.GolangBinaryBuildinfoEntry)
		if !ok || len(m.Symbols) == 0 || p.Name == "stdlib" {
			continue
		}
		locs := p.Locations.ToSlice()
		if len(locs) == 0 {
			continue
		}
		c := locs[0].Coordinates
		fn, ok := names[c]
		if !ok {
			fn = readFuncNames(res, locs[0])
			names[c] = fn
		}
		if fn == nil || len(fn.vendored) == 0 {
			continue
		}
		changed := false
		symbols := make(map[string][]string, len(m.Symbols))
		for path, locals := range m.Symbols {
			if !fn.vendored[path] {
				symbols[path] = locals
				continue
			}
			changed = true
			if own := fn.byPackage[path]; len(own) > 0 {
				// Sorted and without duplicates, as syft lists them.
				symbols[path] = slices.Compact(slices.Sorted(slices.Values(own)))
			}
		}
		if !changed {
			continue
		}
		if len(symbols) == 0 {
			symbols = nil
		}
		old := p.ID()
		m.Symbols = symbols
		p.Metadata = m
		fixed[old] = p
	}
	replacePackages(s, fixed)
}

// replacePackages puts each changed package in place of the package it
// was (by ID), under the ID syft gives its new contents (syft's package
// IDs hash the metadata, Go symbols included), in the collection and in
// every relationship.
func replacePackages(s *syftsbom.SBOM, changed map[artifact.ID]pkg.Package) {
	if len(changed) == 0 {
		return
	}
	for old, p := range changed {
		p.SetID()
		changed[old] = p
		s.Artifacts.Packages.Delete(old)
		s.Artifacts.Packages.Add(p)
	}
	swap := func(a artifact.Identifiable) artifact.Identifiable {
		if p, ok := a.(pkg.Package); ok {
			if n, ok := changed[p.ID()]; ok {
				return n
			}
		}
		return a
	}
	for i, r := range s.Relationships {
		s.Relationships[i].From, s.Relationships[i].To = swap(r.From), swap(r.To)
	}
}

// openBinary opens a file for random access: the image's own reader
// where it has one (so only the sections wanted are read), else its
// contents read into memory, up to maxBinaryRead.
func openBinary(res file.Resolver, loc file.Location) (io.ReaderAt, io.Closer, error) {
	rc, err := res.FileContentsByLocation(loc)
	if err != nil {
		return nil, nil, err
	}
	if r, ok := rc.(io.ReaderAt); ok {
		return r, rc, nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxBinaryRead))
	if err != nil {
		return nil, nil, err
	}
	return bytes.NewReader(data), io.NopCloser(nil), nil
}

// funcNames are a binary's function names: local names by (non-vendored)
// package path, and the package paths that appear under vendor/.
type funcNames struct {
	byPackage map[string][]string
	vendored  map[string]bool
}

func readFuncNames(res file.Resolver, loc file.Location) *funcNames {
	ra, closer, err := openBinary(res, loc)
	if err != nil {
		return nil
	}
	defer closer.Close()
	tab := pclntab(ra)
	if tab == nil {
		return nil
	}
	fn := &funcNames{byPackage: map[string][]string{}, vendored: map[string]bool{}}
	seen := map[string]bool{}
	for _, name := range funcNameTable(tab) {
		if seen[name] {
			continue
		}
		seen[name] = true
		pkgPath := symbolPackagePath(name)
		if pkgPath == "" {
			continue
		}
		if v, ok := strings.CutPrefix(pkgPath, "vendor/"); ok {
			fn.vendored[v] = true
			continue
		}
		fn.byPackage[pkgPath] = append(fn.byPackage[pkgPath], name[len(pkgPath)+1:])
	}
	return fn
}

// pclntab is a binary's function table, from an ELF or (thin) Mach-O
// file with a text section, as syft reads it; nil otherwise.
func pclntab(r io.ReaderAt) []byte {
	if f, err := elf.NewFile(r); err == nil {
		if s := f.Section(".gopclntab"); s != nil && f.Section(".text") != nil {
			if b, err := s.Data(); err == nil {
				return b
			}
		}
		return nil
	}
	if f, err := macho.NewFile(r); err == nil {
		if s := f.Section("__gopclntab"); s != nil && f.Section("__text") != nil {
			if b, err := s.Data(); err == nil {
				return b
			}
		}
	}
	return nil
}

// funcNameTable lists every name in the pclntab's function-name table,
// inlined functions included (Go 1.16+ layouts; nil otherwise).
func funcNameTable(tab []byte) []string {
	if len(tab) < 8 {
		return nil
	}
	idx := 2 // header words after nfunc, nfiles: [textStart,] funcnameOffset, cuOffset
	switch binary.LittleEndian.Uint32(tab[0:4]) {
	case 0xfffffff1, 0xfffffff0:
		idx = 3
	case 0xfffffffa:
	default:
		return nil
	}
	ptr := int(tab[7])
	if ptr != 4 && ptr != 8 {
		return nil
	}
	word := func(i int) int {
		off := 8 + i*ptr
		if off+ptr > len(tab) {
			return -1
		}
		if ptr == 8 {
			return int(binary.LittleEndian.Uint64(tab[off : off+8]))
		}
		return int(binary.LittleEndian.Uint32(tab[off : off+4]))
	}
	start, end := word(idx), word(idx+1)
	if start < 0 || end > len(tab) || start >= end {
		return nil
	}
	var out []string
	for _, raw := range bytes.Split(tab[start:end], []byte{0}) {
		if len(raw) > 0 {
			out = append(out, string(raw))
		}
	}
	return out
}
