package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

// Exit codes shared by every command.
const (
	ExitOK     = 0
	ExitDenied = 1
	ExitError  = 2
)

// exitError carries an exit code other than ExitError up to Execute.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// denied returns an error that makes sealyard exit 1 with msg.
func denied(format string, args ...any) error {
	return &exitError{code: ExitDenied, msg: fmt.Sprintf(format, args...)}
}

// streams are the process's standard streams, passed down rather than read
// from os so that tests can run commands in process.
type streams struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
}

// logf writes a progress line to stderr.
func (s *streams) logf(format string, args ...any) {
	fmt.Fprintf(s.err, format+"\n", args...)
}

// Execute runs the command line args and returns the exit code.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return ExecuteEnv(ctx, args, stdin, stdout, stderr, os.Getenv)
}

// ExecuteEnv is Execute with an explicit environment lookup.
func ExecuteEnv(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	s := &streams{in: stdin, out: stdout, err: stderr, getenv: getenv}
	root := newRoot(s)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "error:", err)
	return ExitError
}

func startCPUProfile(path string) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

func newRoot(s *streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "sealyard",
		Short: "Build, inventory, scan, gate, sign, push and verify container images",
		Long: `sealyard is a supply-chain pipeline for container images.

It builds images without a Docker daemon, writes SBOMs with syft, scans them
with grype, gates them on Rego policy, signs and attests them with cosign,
pushes them by digest and verifies them before deploy.

Image references use the scheme words of syft and grype:
  oci-dir:PATH  oci-archive:PATH  docker-archive:PATH  docker:NAME[:TAG]
  registry:REF  or a bare registry reference.

Exit codes: 0 success, 1 the gate denied, 2 any error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	// Profiles for make bench (hidden: they are for developers).
	var cpuProfile string
	var stopProfile func() error
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) to this file")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if cpuProfile == "" {
			return nil
		}
		var err error
		stopProfile, err = startCPUProfile(cpuProfile)
		return err
	}
	root.PersistentPostRunE = func(cmd *cobra.Command, args []string) error {
		if stopProfile != nil {
			return stopProfile()
		}
		return nil
	}
	root.AddCommand(
		newBuildCmd(s),
		newPushCmd(s),
		newSBOMCmd(s),
		newScanCmd(s),
		newSecretsCmd(s),
		newDBCmd(s),
		newGateCmd(s),
		newFixCmd(s),
		newRunCmd(s),
		newKeygenCmd(s),
		newSignCmd(s),
		newAttestCmd(s),
		newVerifyCmd(s),
		newVersionCmd(s),
		newDemoCmd(s),
	)
	return root
}
