package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	pipeline "github.com/sealyard/sealyard/pipelines/run"
)

func TestProgressViews(t *testing.T) {
	events := []pipeline.Event{
		{Stage: "source", State: pipeline.Started},
		{Stage: "source", State: pipeline.Done, Detail: "sha256:abc", Elapsed: 1500 * time.Millisecond},
		{Stage: "gate", State: pipeline.Started},
		{Stage: "gate", State: pipeline.Failed, Err: errors.New("policy broke"), Elapsed: time.Second},
		{Stage: "push", State: pipeline.Skipped, Detail: "the gate denied the image"},
	}

	var plain bytes.Buffer
	p, err := newProgress("auto", &plain) // not a terminal: plain lines
	if err != nil {
		t.Fatal(err)
	}
	p.start()
	for _, e := range events {
		p.event(e)
	}
	p.stop()
	lines := strings.Split(strings.TrimSpace(plain.String()), "\n")
	if len(lines) != len(events) || !strings.Contains(lines[1], "done in 1.5s: sha256:abc") || !strings.Contains(lines[3], "failed in 1s: policy broke") {
		t.Fatalf("plain progress:\n%s", plain.String())
	}

	m := newStagesModel()
	for _, e := range events {
		next, _ := m.Update(e)
		m = next.(stagesModel)
	}
	view := m.View()
	for _, want := range []string{"✔", "source", "✘", "gate", "-", "push", "the gate denied the image"} {
		if !strings.Contains(view, want) {
			t.Fatalf("live view lacks %q:\n%s", want, view)
		}
	}
	if strings.Count(view, "\n") != 3 {
		t.Fatalf("live view has %d lines, want one per stage:\n%s", strings.Count(view, "\n"), view)
	}

	// The live view runs as a bubbletea program and ends when the run does.
	var tty bytes.Buffer
	live, _ := newProgress("tty", &tty)
	live.start()
	for _, e := range events {
		live.event(e)
	}
	live.stop()
	if !strings.Contains(tty.String(), "push") || !strings.Contains(tty.String(), "✔") {
		t.Fatalf("the live view rendered %q", tty.String())
	}

	var quiet bytes.Buffer
	q, _ := newProgress("quiet", &quiet)
	for _, e := range events {
		q.event(e)
	}
	if quiet.Len() != 0 {
		t.Fatalf("quiet progress printed %q", quiet.String())
	}
	if _, err := newProgress("fancy", &quiet); err == nil {
		t.Fatal("an unknown progress mode was accepted")
	}
}
