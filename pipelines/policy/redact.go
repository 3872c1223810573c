package policy

import (
	"fmt"
	"regexp"

	"github.com/sealyard/sealyard/pipelines/facts"
)

// secretPatterns are the settings' credential patterns, compiled once:
// label keys and environment variable names (settings.secrets.name_patterns,
// case-insensitive) and label values (settings.secrets.value_patterns).
type secretPatterns struct {
	names, values []*regexp.Regexp
}

func compileSecretPatterns(data map[string]any) (secretPatterns, error) {
	var out secretPatterns
	settings, _ := data["settings"].(map[string]any)
	secrets, _ := settings["secrets"].(map[string]any)
	for _, k := range []struct {
		key    string
		prefix string
		dst    *[]*regexp.Regexp
	}{{"name_patterns", "(?i)", &out.names}, {"value_patterns", "", &out.values}} {
		list, _ := secrets[k.key].([]any)
		for _, p := range list {
			ps, ok := p.(string)
			if !ok {
				return out, fmt.Errorf("%w: settings.secrets.%s: %v is not a string", ErrPolicy, k.key, p)
			}
			re, err := regexp.Compile(k.prefix + ps)
			if err != nil {
				return out, fmt.Errorf("%w: settings.secrets.%s: %q: %w", ErrPolicy, k.key, ps, err)
			}
			*k.dst = append(*k.dst, re)
		}
	}
	return out, nil
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// redact replaces the value of every label whose key or value is a
// credential with a short fingerprint, and lists those labels in
// SecretLabels: the policies (SY-SEC-002) still see that a credential is
// there, and no file, report or attestation ever holds it.
func (e *Engine) redact(in *Input) {
	for i := range in.Image.Configs {
		c := &in.Image.Configs[i]
		labels := make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			labels[k] = v
		}
		c.Labels = labels // the caller's map stays as it was
		for k, v := range labels {
			if matchAny(e.secrets.names, k) || matchAny(e.secrets.values, v) {
				c.Labels[k] = Redacted(v)
				c.SecretLabels = append(c.SecretLabels, k)
			}
		}
	}
}

// Redacted is how a secret value appears in sealyard's documents: a
// fingerprint (the first 12 hex digits of its sha256) that tells two
// values apart without revealing either.
func Redacted(v string) string {
	return "<redacted " + facts.Digest([]byte(v))[:19] + ">"
}
