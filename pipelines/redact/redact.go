// Package redact keeps credentials out of sealyard's documents. Image
// labels whose key or value is a credential, and environment variables
// whose name says they hold one, are replaced by a short fingerprint
// wherever sealyard writes an image's configuration: the policy input,
// SBOMs (syft copies labels and the raw config into them), reports and
// attestations. The patterns are the policies' settings
// (settings.secrets in policies/data.yaml, or the --policy-data override).
package redact

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/sealyard/sealyard/policies"
)

// Patterns tell credentials apart: by name (label keys and environment
// variable names, case-insensitive) and by value (label values).
type Patterns struct {
	names, values []*regexp.Regexp
}

// FromSettings reads settings.secrets.name_patterns and value_patterns
// from policy data.
func FromSettings(data map[string]any) (*Patterns, error) {
	p := &Patterns{}
	settings, _ := data["settings"].(map[string]any)
	secrets, _ := settings["secrets"].(map[string]any)
	for _, k := range []struct {
		key, prefix string
		dst         *[]*regexp.Regexp
	}{{"name_patterns", "(?i)", &p.names}, {"value_patterns", "", &p.values}} {
		list, _ := secrets[k.key].([]any)
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("settings.secrets.%s: %v is not a string", k.key, x)
			}
			re, err := regexp.Compile(k.prefix + s)
			if err != nil {
				return nil, fmt.Errorf("settings.secrets.%s: %q: %w", k.key, s, err)
			}
			*k.dst = append(*k.dst, re)
		}
	}
	return p, nil
}

var (
	defaultOnce     sync.Once
	defaultPatterns *Patterns
)

// Default are the patterns of sealyard's default settings
// (policies/data.yaml).
func Default() *Patterns {
	defaultOnce.Do(func() {
		raw, err := policies.FS.ReadFile("data.yaml")
		if err != nil {
			panic(fmt.Sprintf("the embedded policies/data.yaml: %v", err))
		}
		var data map[string]any
		if err := yaml.Unmarshal(raw, &data); err != nil {
			panic(fmt.Sprintf("the embedded policies/data.yaml: %v", err))
		}
		p, err := FromSettings(data)
		if err != nil {
			panic(fmt.Sprintf("the embedded policies/data.yaml: %v", err))
		}
		defaultPatterns = p
	})
	return defaultPatterns
}

// SecretName reports whether a label key or variable name says it holds
// a credential.
func (p *Patterns) SecretName(name string) bool { return match(p.names, name) }

// SecretLabel reports whether a label holds a credential, by its key or
// its value.
func (p *Patterns) SecretLabel(key, value string) bool {
	return match(p.names, key) || match(p.values, value)
}

// Labels returns labels with every credential value redacted, and the
// keys that were; the input map is not changed.
func (p *Patterns) Labels(labels map[string]string) (map[string]string, []string) {
	if labels == nil {
		return nil, nil
	}
	out := make(map[string]string, len(labels))
	var keys []string
	for k, v := range labels {
		if p.SecretLabel(k, v) {
			out[k] = Value(v)
			keys = append(keys, k)
			continue
		}
		out[k] = v
	}
	return out, keys
}

// Env returns NAME=VALUE entries with the values of credential-named
// variables redacted.
func (p *Patterns) Env(env []string) []string {
	if env == nil {
		return nil
	}
	out := make([]string, len(env))
	for i, e := range env {
		name, v, ok := strings.Cut(e, "=")
		if ok && (p.SecretName(name) || match(p.values, v)) {
			e = name + "=" + Value(v)
		}
		out[i] = e
	}
	return out
}

func match(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// Value is how a secret value appears in sealyard's documents: a
// fingerprint (the first 12 hex digits of its sha256) that tells two
// values apart without revealing either.
func Value(v string) string {
	sum := sha256.Sum256([]byte(v))
	return "<redacted sha256:" + hex.EncodeToString(sum[:])[:12] + ">"
}

// ConfigJSON redacts an image's raw OCI/Docker config: the credential
// values of its labels and environment (in config and the legacy
// container_config), and every other occurrence of those values in it
// (history entries such as "ENV DB_PASSWORD=..."). A config that is not
// JSON is dropped rather than copied.
func (p *Patterns) ConfigJSON(raw []byte) []byte {
	if len(raw) == 0 {
		return raw
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil
	}
	var secrets []string
	for _, key := range []string{"config", "container_config"} {
		c, _ := doc[key].(map[string]any)
		if labels, ok := c["Labels"].(map[string]any); ok {
			for k, v := range labels {
				if s, ok := v.(string); ok && s != "" && p.SecretLabel(k, s) {
					secrets = append(secrets, s)
				}
			}
		}
		if env, ok := c["Env"].([]any); ok {
			for _, e := range env {
				s, _ := e.(string)
				if name, v, ok := strings.Cut(s, "="); ok && v != "" && (p.SecretName(name) || match(p.values, v)) {
					secrets = append(secrets, v)
				}
			}
		}
	}
	if len(secrets) == 0 {
		return raw
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(replaceStrings(doc, secrets)); err != nil {
		return nil
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

func replaceStrings(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		for _, s := range secrets {
			x = strings.ReplaceAll(x, s, Value(s))
		}
		return x
	case []any:
		for i := range x {
			x[i] = replaceStrings(x[i], secrets)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = replaceStrings(e, secrets)
		}
		return x
	default:
		return v
	}
}
