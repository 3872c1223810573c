package policy

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/sealyard/sealyard/policies"
)

// ErrBadInput is returned for an input that does not match
// policies/input.schema.json.
var ErrBadInput = errors.New("policy input does not match its schema")

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// ValidateInput checks a JSON input document against the input schema.
func ValidateInput(doc []byte) error {
	schemaOnce.Do(func() {
		raw, err := policies.FS.ReadFile("input.schema.json")
		if err != nil {
			schemaErr = err
			return
		}
		s, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			schemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource("input.schema.json", s); err != nil {
			schemaErr = err
			return
		}
		schema, schemaErr = c.Compile("input.schema.json")
	})
	if schemaErr != nil {
		return fmt.Errorf("loading the input schema: %w", schemaErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("%w: not JSON: %w", ErrBadInput, err)
	}
	if err := schema.Validate(inst); err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	return nil
}
