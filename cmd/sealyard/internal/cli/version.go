package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version and Commit are set at link time (-X); build info fills them otherwise.
var (
	Version = ""
	Commit  = ""
)

// pinnedLibraries are the libraries whose versions users ask about.
var pinnedLibraries = []string{
	"github.com/anchore/syft",
	"github.com/anchore/grype",
	"github.com/google/go-containerregistry",
	"github.com/open-policy-agent/opa",
	"github.com/sigstore/cosign/v2",
	"dagger.io/dagger",
}

// VersionInfo is what sealyard version prints.
type VersionInfo struct {
	Version   string            `json:"version"`
	Commit    string            `json:"commit,omitempty"`
	GoVersion string            `json:"goVersion"`
	Platform  string            `json:"platform"`
	Libraries map[string]string `json:"libraries"`
}

func versionInfo() VersionInfo {
	v := VersionInfo{
		Version:   Version,
		Commit:    Commit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
		Libraries: map[string]string{},
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && v.Commit == "" {
				v.Commit = s.Value
			}
		}
		for _, d := range bi.Deps {
			for _, lib := range pinnedLibraries {
				if d.Path == lib {
					v.Libraries[lib] = d.Version
				}
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	return v
}

func newVersionCmd(s *streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the sealyard version and the versions of the libraries it is built with",
		Example: "  sealyard version\n  sealyard version -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := versionInfo()
			switch format {
			case "json":
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			case "text", "":
				fmt.Fprintf(s.out, "sealyard %s\n", v.Version)
				if v.Commit != "" {
					fmt.Fprintf(s.out, "commit    %s\n", v.Commit)
				}
				fmt.Fprintf(s.out, "go        %s %s\n", v.GoVersion, v.Platform)
				for _, lib := range pinnedLibraries {
					if ver, ok := v.Libraries[lib]; ok {
						fmt.Fprintf(s.out, "%-40s %s\n", lib, ver)
					}
				}
				return nil
			default:
				return fmt.Errorf("unknown output format %q (want text or json)", format)
			}
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	return cmd
}
