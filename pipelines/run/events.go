package run

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
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

// tracker emits events and keeps the audit trail: each stage's line is
// appended to audit.jsonl and flushed to disk as the stage ends, so a run
// that is killed leaves the stages it finished on record (and a rerun
// appends its own).
type tracker struct {
	cfg   *Config
	mu    sync.Mutex
	audit []auditEntry
	file  *os.File
	// err is the first failure to write the trail.
	err error
}

// openAudit opens dir/audit.jsonl for appending.
func (t *tracker) openAudit(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, "audit.jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	t.file = f
	return nil
}

// record appends e to the trail and, when the file is open, writes and
// syncs its line. The caller holds t.mu.
func (t *tracker) record(e auditEntry) {
	t.audit = append(t.audit, e)
	if t.file == nil || t.err != nil {
		return
	}
	line, err := json.Marshal(e)
	if err == nil {
		_, err = t.file.Write(append(line, '\n'))
	}
	if err == nil {
		err = t.file.Sync()
	}
	if err != nil {
		t.err = fmt.Errorf("writing the audit log: %w", err)
	}
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
	s.t.record(e)
	s.t.mu.Unlock()
	return err
}

func (t *tracker) skip(name, why string) {
	t.cfg.Events(Event{Stage: name, State: Skipped, Detail: why})
	t.mu.Lock()
	t.record(auditEntry{Time: t.cfg.Now().UTC().Format(time.RFC3339Nano), Stage: name, State: Skipped, Error: why, Unsafe: t.cfg.UnsafeSettings})
	t.mu.Unlock()
}

// closeAudit closes audit.jsonl and returns its path and the first error
// writing it.
func (t *tracker) closeAudit(dir string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.file != nil {
		if err := t.file.Close(); err != nil && t.err == nil {
			t.err = fmt.Errorf("closing the audit log: %w", err)
		}
		t.file = nil
	}
	return filepath.Join(dir, "audit.jsonl"), t.err
}
