// Package cli is the sealyard command line: one file per subcommand, each
// translating flags into options of the pipelines packages. Exit codes:
// 0 success, 1 the gate denied (or --fail-on tripped), 2 any error.
package cli
