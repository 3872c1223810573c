package run

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/sealyard/sealyard/internal/atomicfile"
)

// Context is the context stages run with.
type Context = context.Context

// State is where a stage is.
type State string

// Stage states.
const (
	Started State = "started"
	Done    State = "done"
	Failed  State = "failed"
	Skipped State = "skipped"
)

// Event reports a stage starting or ending.
type Event struct {
	Stage   string        `json:"stage"`
	State   State         `json:"state"`
	Detail  string        `json:"detail,omitempty"`
	Elapsed time.Duration `json:"-"`
	Err     error         `json:"-"`
}

// auditEntry is one line of audit.jsonl.
type auditEntry struct {
	Time       string            `json:"time"`
	Stage      string            `json:"stage"`
	State      State             `json:"state"`
	DurationMS int64             `json:"durationMs"`
	Inputs     map[string]string `json:"inputs,omitempty"`
	Outputs    map[string]string `json:"outputs,omitempty"`
	Decision   string            `json:"decision,omitempty"`
	Signer     string            `json:"signer,omitempty"`
	Error      string            `json:"error,omitempty"`
	// Unsafe names the weakening settings the run used.
	Unsafe []string `json:"unsafe,omitempty"`
}

// tracker emits events and keeps the audit trail.
type tracker struct {
	cfg   *Config
	mu    sync.Mutex
	audit []auditEntry
}

type stage struct {
	t       *tracker
	name    string
	start   time.Time
	inputs  map[string]string
	outputs map[string]string
	extra   func(*auditEntry)
}

func (t *tracker) begin(name string, inputs map[string]string) *stage {
	t.cfg.Events(Event{Stage: name, State: Started})
	return &stage{t: t, name: name, start: t.cfg.Now(), inputs: inputs, outputs: map[string]string{}}
}

func (s *stage) end(err error, detail string) error {
	state := Done
	if err != nil {
		state = Failed
	}
	elapsed := s.t.cfg.Now().Sub(s.start)
	s.t.cfg.Events(Event{Stage: s.name, State: state, Detail: detail, Elapsed: elapsed, Err: err})
	e := auditEntry{
		Time: s.start.UTC().Format(time.RFC3339Nano), Stage: s.name, State: state,
		DurationMS: elapsed.Milliseconds(), Inputs: s.inputs, Outputs: s.outputs,
		Unsafe: s.t.cfg.UnsafeSettings,
	}
	if err != nil {
		e.Error = err.Error()
	}
	if s.extra != nil {
		s.extra(&e)
	}
	s.t.mu.Lock()
	s.t.audit = append(s.t.audit, e)
	s.t.mu.Unlock()
	return err
}

func (t *tracker) skip(name, why string) {
	t.cfg.Events(Event{Stage: name, State: Skipped, Detail: why})
	t.mu.Lock()
	t.audit = append(t.audit, auditEntry{Time: t.cfg.Now().UTC().Format(time.RFC3339Nano), Stage: name, State: Skipped, Error: why, Unsafe: t.cfg.UnsafeSettings})
	t.mu.Unlock()
}

// writeAudit writes audit.jsonl (one JSON object per line).
func (t *tracker) writeAudit(dir string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := filepath.Join(dir, "audit.jsonl")
	return p, atomicfile.Write(p, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, e := range t.audit {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	})
}
