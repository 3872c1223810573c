package policy

import (
	"github.com/sealyard/sealyard/pipelines/redact"
)

// redact replaces the value of every label whose key or value is a
// credential with a short fingerprint, and lists those labels in
// SecretLabels: the policies (SY-SEC-002) still see that a credential is
// there, and no file, report or attestation ever holds it.
func (e *Engine) redact(in *Input) {
	for i := range in.Image.Configs {
		c := &in.Image.Configs[i]
		var keys []string
		c.Labels, keys = e.secrets.Labels(c.Labels) // a copy: the caller's map stays
		c.SecretLabels = append(c.SecretLabels, keys...)
	}
}

// Redacter is the engine's credential patterns (its settings'
// settings.secrets), for the other documents a run writes.
func (e *Engine) Redacter() *redact.Patterns { return e.secrets }
