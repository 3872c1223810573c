// Command sealyard-cmdline prints, as JSON, the command line the Dagger
// module would run for a function, given its arguments as JSON on stdin:
//
//	echo '{"Ref": "127.0.0.1:5000/app:v1", "Pkg": "."}' | sealyard-cmdline ship
//
// It exists for the parity test, which runs these exact command lines with
// the sealyard binary and compares the results with sealyard run's.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"dagger/sealyard/internal/cmdline"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sealyard-cmdline:", err)
		os.Exit(2)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: sealyard-cmdline ship|gate|sbom < ARGS.json")
	}
	dec := json.NewDecoder(os.Stdin)
	dec.DisallowUnknownFields()
	var (
		e   cmdline.Exec
		err error
	)
	switch os.Args[1] {
	case "ship":
		var s struct {
			cmdline.Ship
			CIEnv string
		}
		if err := dec.Decode(&s); err != nil {
			return err
		}
		if s.CIEnv != "" {
			ci, err := cmdline.ParseCIEnv(s.CIEnv)
			if err != nil {
				return err
			}
			ci.SourceDateEpoch = s.Ship.CI.SourceDateEpoch
			s.Ship.CI = ci
		}
		e, err = s.Ship.Exec()
	case "gate":
		var g struct {
			Inputs cmdline.Inputs
			Mode   string
			CI     cmdline.CI
		}
		if err := dec.Decode(&g); err != nil {
			return err
		}
		e, err = cmdline.Gate(g.Inputs, g.Mode, g.CI)
	case "sbom":
		var s struct{ Format string }
		if err := dec.Decode(&s); err != nil {
			return err
		}
		e, err = cmdline.SBOM(s.Format)
	default:
		return fmt.Errorf("unknown function %q", os.Args[1])
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}
