// Package schemas validates the JSON documents sealyard emits against the
// published JSON Schemas of their formats (CycloneDX 1.6, SPDX 2.3, SARIF
// 2.1.0, the GitLab security report and CI formats, OpenVEX 0.2.0). The
// schema files are copies of the project's shared schemas; SOURCES.md says
// where each comes from and under which license.
package schemas

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sealyard/sealyard/policies"
)

//go:embed data/*.json
var files embed.FS

// Schema names, the file names under data/ without .json.
const (
	CycloneDX                = "cyclonedx-bom-1.6.schema"
	SPDX                     = "spdx-2.3.schema"
	SARIF                    = "sarif-2.1.0"
	GitLabContainerScanning  = "gitlab-container-scanning-report-format"
	GitLabDependencyScanning = "gitlab-dependency-scanning-report-format"
	GitLabCI                 = "gitlab-ci"
	OpenVEX                  = "openvex-0.2.0"
	// SealyardSecrets is sealyard's own secrets report; its findings are
	// defined by the policy input schema (policies/input.schema.json).
	SealyardSecrets = "sealyard-secrets.schema"
)

var (
	once     sync.Once
	compiler *jsonschema.Compiler
	initErr  error
	cache    sync.Map
)

func setup() {
	compiler = jsonschema.NewCompiler()
	compiler.AssertFormat()
	raw, err := policies.FS.ReadFile("input.schema.json")
	if err != nil {
		initErr = err
		return
	}
	input, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		initErr = err
		return
	}
	if err := compiler.AddResource("https://sealyard.dev/schemas/policy-input/v1.json", input); err != nil {
		initErr = err
		return
	}
	entries, err := fs.ReadDir(files, "data")
	if err != nil {
		initErr = err
		return
	}
	for _, e := range entries {
		b, err := files.ReadFile("data/" + e.Name())
		if err != nil {
			initErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			initErr = fmt.Errorf("%s: %w", e.Name(), err)
			return
		}
		name := strings.TrimSuffix(e.Name(), ".json")
		if err := compiler.AddResource("sealyard:///"+name, doc); err != nil {
			initErr = err
			return
		}
		// The CycloneDX schema refers to its companions by their $id.
		if m, ok := doc.(map[string]any); ok {
			if id, ok := m["$id"].(string); ok && strings.HasPrefix(id, "http://cyclonedx.org/") {
				if err := compiler.AddResource(id, doc); err != nil {
					initErr = err
					return
				}
			}
		}
	}
}

// Check validates doc against the named schema and returns the violations.
func Check(name string, doc []byte) error {
	once.Do(setup)
	if initErr != nil {
		return initErr
	}
	var sch *jsonschema.Schema
	if v, ok := cache.Load(name); ok {
		sch = v.(*jsonschema.Schema)
	} else {
		s, err := compiler.Compile("sealyard:///" + name)
		if err != nil {
			return fmt.Errorf("compiling schema %s: %w", name, err)
		}
		cache.Store(name, s)
		sch = s
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("document is not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// Validate fails t when doc does not validate against the named schema.
func Validate(t testing.TB, name string, doc []byte) {
	t.Helper()
	if err := Check(name, doc); err != nil {
		t.Fatalf("document does not validate against %s:\n%v", name, err)
	}
}
