package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/fix"
)

type fixFlags struct {
	dryRun     bool
	allowDirty bool
	policy     policyFlags
	db         dbFlags
}

func newFixCmd(s *streams) *cobra.Command {
	f := &fixFlags{}
	cmd := &cobra.Command{
		Use:   "fix MODULE_DIR",
		Short: "Apply the Go fixes the scan finds to a module, and gate it before and after",
		Long: `Build the module's main package, scan and gate it; apply the fixes that can
be made safely to go.mod (go get module@version for each module upgrade, the
toolchain line for standard-library fixes: the lowest fixed Go release the
module proxy serves), go mod tidy; then build, scan and gate again. Prints
both decisions and the diff of go.mod.

Only go.mod and go.sum change, and nothing outside the module. A module with
uncommitted git changes is refused unless --allow-dirty. --dry-run applies
the fixes to a copy and prints the diff only.

Exit codes: 0 the gate allows the fixed module, 1 it still denies, 2 error.`,
		Example: `  sealyard fix ./examples/greeter --db ./db
  sealyard fix . --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFix(cmd, s, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "apply the fixes to a copy and print the diff only")
	fl.BoolVar(&f.allowDirty, "allow-dirty", false, "fix a module whose git tree has uncommitted changes")
	f.policy.register(cmd)
	f.db.register(cmd)
	return cmd
}

func runFix(cmd *cobra.Command, s *streams, f *fixFlags, dir string) error {
	engine, gopts, err := f.policy.engine(cmd)
	if err != nil {
		return err
	}
	db, err := f.db.open(s)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := fix.Fix(cmd.Context(), fix.Config{
		Dir: dir, DB: db, Policy: engine, GateOptions: gopts, DryRun: f.dryRun, AllowDirty: f.allowDirty,
		Info: cienv.Detect(cmd.Context(), ".", s.getenv), Log: s.logf,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "before: %s (%d violations)\n", res.Before.Decision, len(res.Before.Violations))
	for _, a := range res.Applied {
		fmt.Fprintf(s.out, "applied: %s (clears %d advisories)\n", a.Command, len(a.Advisories))
	}
	for _, sk := range res.Skipped {
		fmt.Fprintf(s.out, "not applied: %s\n", sk)
	}
	if res.Diff != "" {
		fmt.Fprintf(s.out, "\n%s\n", res.Diff)
	}
	if f.dryRun {
		fmt.Fprintf(s.out, "after (on a copy; %s is unchanged): %s (%d violations)\n", dir, res.After.Decision, len(res.After.Violations))
	} else {
		fmt.Fprintf(s.out, "after: %s (%d violations)\n", res.After.Decision, len(res.After.Violations))
	}
	for _, v := range res.After.Violations {
		fmt.Fprintf(s.out, "  %s %s\n", v.Rule, v.Message)
	}
	if !res.After.Allowed() {
		return denied("the gate still denies the fixed module: %d violation(s)", len(res.After.Violations))
	}
	return nil
}
