package sbom

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzDecode: any bytes given as --sbom are decoded or refused, never
// panic.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"x","version":"1","purl":"pkg:golang/x@1"}]}`,
		`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","packages":[]}`,
		`{"artifacts":[],"source":{"type":"image"},"schema":{"version":"16.0.0"}}`,
		`<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1"></bom>`,
		`{}`, `[]`, `null`, ``, `{"bomFormat":"CycloneDX","specVersion":"99"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _, err := Decode(bytes.NewReader(data))
		if err == nil && doc == nil {
			t.Fatal("no error and no document")
		}
		if err == nil {
			_ = PlatformOf(doc)
			_ = Packages(&Document{SBOM: doc})
		}
	})
}

// FuzzFuncNameTable: the pclntab reader never panics or reads past the
// table, whatever the header says.
func FuzzFuncNameTable(f *testing.F) {
	good := make([]byte, 64)
	binary.LittleEndian.PutUint32(good[0:4], 0xfffffff1)
	good[7] = 8
	binary.LittleEndian.PutUint64(good[8+3*8:], 48)
	binary.LittleEndian.PutUint64(good[8+4*8:], 64)
	copy(good[48:], "main.main\x00fmt.Println\x00")
	f.Add(good)
	f.Add([]byte{0xf1, 0xff, 0xff, 0xff, 0, 0, 1, 4})
	f.Add([]byte{0xfa, 0xff, 0xff, 0xff, 0, 0, 1, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, tab []byte) {
		for _, name := range funcNameTable(tab) {
			if len(name) > len(tab) {
				t.Fatalf("a name longer than the table")
			}
		}
		_ = pclntab(bytes.NewReader(tab))
	})
}
