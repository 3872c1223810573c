package sbom

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"
	"github.com/spdx/tools-golang/spdx"

	"github.com/anchore/syft/syft/format"
	"github.com/anchore/syft/syft/format/common/cyclonedxhelpers"
	"github.com/anchore/syft/syft/format/common/spdxhelpers"
	"github.com/anchore/syft/syft/format/syftjson"
	syftsbom "github.com/anchore/syft/syft/sbom"
)

// Format is an SBOM document format, named as syft names it.
type Format string

// The formats Encode writes and Decode reads.
const (
	SyftJSON      Format = "syft-json"
	SPDXJSON      Format = "spdx-json"
	CycloneDXJSON Format = "cyclonedx-json"
	CycloneDXXML  Format = "cyclonedx-xml"
)

// Formats lists every format Encode supports.
var Formats = []Format{SyftJSON, SPDXJSON, CycloneDXJSON, CycloneDXXML}

// ParseFormat checks a format name; "json" and "syft" mean syft-json, as in syft.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "json", "syft":
		return SyftJSON, nil
	}
	f := Format(s)
	if slices.Contains(Formats, f) {
		return f, nil
	}
	var names []string
	for _, f := range Formats {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("unknown SBOM format %q (want one of %s)", s, strings.Join(names, ", "))
}

// Extension is the conventional file suffix of f.
func (f Format) Extension() string {
	switch f {
	case SPDXJSON:
		return ".spdx.json"
	case CycloneDXJSON:
		return ".cdx.json"
	case CycloneDXXML:
		return ".cdx.xml"
	default:
		return ".syft.json"
	}
}

// Encode writes d in format f. Output is deterministic: SPDX and CycloneDX
// timestamps are the image creation time (or created, when not zero), and
// document namespaces and serial numbers are derived from the image digest.
func Encode(w io.Writer, d *Document, f Format, created time.Time) error {
	if created.IsZero() {
		created = d.Created
	}
	created = created.UTC().Truncate(time.Second)
	switch f {
	case SyftJSON:
		enc, err := syftjson.NewFormatEncoderWithConfig(syftjson.EncoderConfig{Pretty: true})
		if err != nil {
			return err
		}
		return enc.Encode(w, *d.SBOM)
	case SPDXJSON:
		doc := spdxhelpers.ToFormatModel(*d.SBOM)
		if doc == nil {
			return fmt.Errorf("converting the SBOM to SPDX failed")
		}
		doc.CreationInfo.Created = created.Format(time.RFC3339)
		doc.DocumentNamespace = "https://sealyard.dev/spdx/" + nameForURL(d.Name) + "-" + stableUUID(d, "spdx").String()
		return encodeSPDX(w, doc)
	case CycloneDXJSON, CycloneDXXML:
		bom := cyclonedxhelpers.ToFormatModel(*d.SBOM)
		bom.SerialNumber = stableUUID(d, "cyclonedx").URN()
		if bom.Metadata != nil {
			bom.Metadata.Timestamp = created.Format(time.RFC3339)
		}
		ff := cyclonedx.BOMFileFormatJSON
		if f == CycloneDXXML {
			ff = cyclonedx.BOMFileFormatXML
		}
		enc := cyclonedx.NewBOMEncoder(w, ff)
		enc.SetPretty(true)
		enc.SetEscapeHTML(false)
		return enc.EncodeVersion(bom, cyclonedx.SpecVersion1_6)
	default:
		return fmt.Errorf("unknown SBOM format %q", f)
	}
}

func encodeSPDX(w io.Writer, doc *spdx.Document) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	return enc.Encode(doc)
}

// EncodeBytes is Encode into memory.
func EncodeBytes(d *Document, f Format, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	if err := Encode(&buf, d, f, created); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// stableUUID derives a version-5-style UUID from the image digest and the
// document kind, so the same image always gets the same identifier.
func stableUUID(d *Document, kind string) uuid.UUID {
	sum := sha256.Sum256([]byte("sealyard:" + kind + ":" + d.Digest.String()))
	u, _ := uuid.FromBytes(sum[:16])
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

func nameForURL(n string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '-'
	}, n)
}

// ErrUnknownFormat is returned by Decode for input that is no SBOM format
// sealyard reads.
var ErrUnknownFormat = fmt.Errorf("unknown SBOM format")

// Decode reads an SBOM in any format syft reads (syft JSON, SPDX, CycloneDX)
// and returns it with its format.
func Decode(r io.Reader) (*syftsbom.SBOM, Format, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSBOMSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading SBOM: %w", err)
	}
	if len(data) > maxSBOMSize {
		return nil, "", fmt.Errorf("SBOM is larger than %d bytes", maxSBOMSize)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, "", fmt.Errorf("%w: the input is empty", ErrUnknownFormat)
	}
	if trimmed[0] != '{' && trimmed[0] != '<' {
		return nil, "", fmt.Errorf("%w: the input is neither JSON nor XML", ErrUnknownFormat)
	}
	if trimmed[0] == '{' && !json.Valid(trimmed) {
		return nil, "", fmt.Errorf("%w: the input starts like JSON but is not valid JSON", ErrUnknownFormat)
	}
	s, id, version, err := format.Decode(bytes.NewReader(data))
	if err != nil || s == nil || id == "" {
		detail := "not syft JSON, SPDX or CycloneDX"
		if err != nil && !strings.Contains(err.Error(), "not recognized") {
			detail += ": " + err.Error()
		}
		return nil, "", fmt.Errorf("%w: %s", ErrUnknownFormat, detail)
	}
	switch string(id) {
	case string(SyftJSON):
		return s, SyftJSON, nil
	case "spdx-json", "spdx-tag-value":
		return s, SPDXJSON, nil
	case "cyclonedx-json":
		return s, CycloneDXJSON, nil
	case "cyclonedx-xml":
		return s, CycloneDXXML, nil
	default:
		return nil, "", fmt.Errorf("%w: %s %s", ErrUnknownFormat, id, version)
	}
}

const maxSBOMSize = 1 << 30
