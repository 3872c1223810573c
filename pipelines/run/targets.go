package run

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/sealyard/sealyard/internal/atomicfile"
)

// Target is one image of a many-image run: where it comes from and where
// it goes.
type Target struct {
	Source      string
	Destination string
}

// ParseTargets reads a targets file: one "SOURCE DESTINATION" pair a line,
// blank lines and # comments skipped. name is used in errors.
func ParseTargets(r io.Reader, name string) ([]Target, error) {
	var out []Target
	sc := bufio.NewScanner(io.LimitReader(r, 4<<20))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s:%d: want SOURCE DESTINATION, got %q", name, n, line)
		}
		out = append(out, Target{Source: f[0], Destination: f[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s lists no targets", name)
	}
	return out, nil
}

// TargetResult is what happened to one target.
type TargetResult struct {
	Target Target
	// OutDir holds the target's reports.
	OutDir string
	Result *Result
	Err    error
}

var unsafeDirChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// targetDir names a target's report directory: its position and its
// destination, readable and unique.
func targetDir(i int, t Target) string {
	return fmt.Sprintf("%03d-%s", i+1, strings.Trim(unsafeDirChars.ReplaceAllString(t.Destination, "_"), "_"))
}

// RunTargets runs base for each target, at most jobs at a time, each with
// its reports in base.OutDir/NNN-DESTINATION, and writes a combined
// summary (base.OutDir/summary.md). Memory grows with jobs, not with the
// number of targets: a target's images and documents are released when it
// ends. The results are in the order of targets; an error of one target
// does not stop the others.
func RunTargets(ctx context.Context, base Config, targets []Target, jobs int) ([]TargetResult, error) {
	if jobs < 1 {
		return nil, fmt.Errorf("jobs must be at least 1, got %d", jobs)
	}
	if base.OutDir == "" {
		base.OutDir = "sealyard-out"
	}
	if err := os.MkdirAll(base.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory %q: %w", base.OutDir, err)
	}
	out := make([]TargetResult, len(targets))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cfg := base
			cfg.Source, cfg.Destination = t.Source, t.Destination
			cfg.OutDir = filepath.Join(base.OutDir, targetDir(i, t))
			if base.Events != nil {
				prefix := t.Destination + ": "
				cfg.Events = func(e Event) {
					e.Stage = prefix + e.Stage
					base.Events(e)
				}
			}
			res, err := Run(ctx, cfg)
			out[i] = TargetResult{Target: t, OutDir: cfg.OutDir, Result: res, Err: err}
		}()
	}
	wg.Wait()
	return out, writeCombinedSummary(base.OutDir, out)
}

func writeCombinedSummary(dir string, rs []TargetResult) error {
	var b strings.Builder
	allowed, denied, failed := 0, 0, 0
	for _, r := range rs {
		switch {
		case r.Err != nil:
			failed++
		case r.Result.Denied():
			denied++
		default:
			allowed++
		}
	}
	fmt.Fprintf(&b, "## sealyard: %d images, %d allowed, %d denied, %d failed\n\n", len(rs), allowed, denied, failed)
	b.WriteString("| # | source | destination | outcome | digest | reports |\n| --- | --- | --- | --- | --- | --- |\n")
	for i, r := range rs {
		outcome, digest := "", ""
		switch {
		case r.Err != nil:
			outcome = "failed: " + strings.ReplaceAll(firstLineOfErr(r.Err), "|", "/")
		case r.Result.Denied():
			outcome = fmt.Sprintf("denied (%d violations)", len(r.Result.Decision.Violations))
		default:
			outcome = "allowed, pushed and signed"
		}
		if r.Result != nil {
			digest = "`" + r.Result.Digest + "`"
		}
		fmt.Fprintf(&b, "| %d | `%s` | `%s` | %s | %s | `%s` |\n", i+1, r.Target.Source, r.Target.Destination, outcome, digest, filepath.Base(r.OutDir))
	}
	return atomicfile.WriteBytes(filepath.Join(dir, "summary.md"), 0o644, []byte(b.String()))
}

func firstLineOfErr(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
