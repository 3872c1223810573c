// Package policies holds sealyard's default Rego v1 policies, their tests,
// the default settings (data.yaml) and the JSON Schema of the policy input
// (input.schema.json), embedded so the sealyard binary carries them.
//
// Every rule has a stable id (SY-AREA-NNN), a title and a message that
// says how to fix what it found; each has a test that fires it and one
// that does not, beside it in NAME_test.rego.
package policies

import "embed"

// FS holds the policies (*.rego, without tests), data.yaml and
// input.schema.json.
//
//go:embed *.rego data.yaml input.schema.json
var FS embed.FS
