package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"golang.org/x/term"

	pipeline "github.com/sealyard/sealyard/pipelines/run"
)

// progress shows run events: a live view on a terminal (bubbletea),
// plain lines otherwise (CI logs), or nothing.
type progress struct {
	mode string
	w    io.Writer
	prog *tea.Program
	done chan struct{}
	mu   sync.Mutex
}

func newProgress(mode string, w io.Writer) (*progress, error) {
	switch mode {
	case "auto":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "tty"
		} else {
			mode = "plain"
		}
	case "plain", "quiet", "tty":
	default:
		return nil, fmt.Errorf("--progress %q: want auto, plain, tty or quiet", mode)
	}
	return &progress{mode: mode, w: w}, nil
}

func (p *progress) start() {
	if p.mode != "tty" {
		return
	}
	p.prog = tea.NewProgram(newStagesModel(), tea.WithOutput(p.w), tea.WithInput(nil))
	p.done = make(chan struct{})
	go func() {
		_, _ = p.prog.Run()
		close(p.done)
	}()
}

func (p *progress) stop() {
	if p.prog == nil {
		return
	}
	p.prog.Send(finishMsg{})
	<-p.done
}

func (p *progress) event(e pipeline.Event) {
	switch p.mode {
	case "quiet":
	case "tty":
		p.prog.Send(e)
	default:
		p.mu.Lock()
		defer p.mu.Unlock()
		line := fmt.Sprintf("%-28s %s", e.Stage, e.State)
		if e.State == pipeline.Done || e.State == pipeline.Failed {
			line += fmt.Sprintf(" in %s", e.Elapsed.Round(time.Millisecond))
		}
		if e.Detail != "" {
			line += ": " + e.Detail
		}
		if e.Err != nil {
			line += ": " + e.Err.Error()
		}
		fmt.Fprintln(p.w, line)
	}
}

// stagesModel is the live view: one line per stage with a spinner while it
// runs and its outcome when done.
type stagesModel struct {
	order  []string
	stages map[string]pipeline.Event
	frame  int
}

type finishMsg struct{}
type tickMsg struct{}

var (
	doneStyle    = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	failedStyle  = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	skippedStyle = lipgloss.NewStyle().Foreground(lipgloss.Color("8"))
	spinner      = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
)

func newStagesModel() stagesModel {
	return stagesModel{stages: map[string]pipeline.Event{}}
}

func tick() tea.Cmd {
	return tea.Tick(100*time.Millisecond, func(time.Time) tea.Msg { return tickMsg{} })
}

func (m stagesModel) Init() tea.Cmd { return tick() }

func (m stagesModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch x := msg.(type) {
	case pipeline.Event:
		if _, seen := m.stages[x.Stage]; !seen {
			m.order = append(m.order, x.Stage)
		}
		m.stages[x.Stage] = x
	case tickMsg:
		m.frame++
		return m, tick()
	case finishMsg:
		return m, tea.Quit
	}
	return m, nil
}

func (m stagesModel) View() string {
	var b strings.Builder
	for _, name := range m.order {
		e := m.stages[name]
		var mark string
		switch e.State {
		case pipeline.Done:
			mark = doneStyle.Render("✔")
		case pipeline.Failed:
			mark = failedStyle.Render("✘")
		case pipeline.Skipped:
			mark = skippedStyle.Render("-")
		default:
			mark = spinner[m.frame%len(spinner)]
		}
		line := fmt.Sprintf("%s %-28s", mark, name)
		if e.State == pipeline.Done || e.State == pipeline.Failed {
			line += fmt.Sprintf(" %6s", e.Elapsed.Round(10*time.Millisecond))
		}
		if e.Detail != "" {
			line += "  " + e.Detail
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
