package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sealyard/sealyard/internal/atomicfile"
)

// output is one -o FORMAT[=FILE] request, as in syft and grype.
type output struct {
	format string
	file   string // "" means stdout
}

func parseOutputs(specs []string, formats []string) ([]output, error) {
	var out []output
	stdout := 0
	for _, s := range specs {
		f, file, _ := strings.Cut(s, "=")
		ok := false
		for _, allowed := range formats {
			if f == allowed {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown output format %q (want one of %s)", f, strings.Join(formats, ", "))
		}
		if file == "" {
			stdout++
		}
		out = append(out, output{format: f, file: file})
	}
	if stdout > 1 {
		return nil, fmt.Errorf("only one output can go to stdout; give the others a file with FORMAT=FILE")
	}
	return out, nil
}

// write sends data to the output's file (atomically) or to stdout.
func (o output) write(stdout io.Writer, file string, render func(io.Writer) error) error {
	if file == "" {
		return render(stdout)
	}
	if dir := filepath.Dir(file); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return atomicfile.Write(file, 0o644, render)
}

// perPlatform names the file for one platform of several: the platform is
// put before the extension (sbom.cdx.json -> sbom.linux-arm64.cdx.json).
func perPlatform(file, platform string, many bool) string {
	if !many || file == "" {
		return file
	}
	tag := strings.ReplaceAll(platform, "/", "-")
	dir, base := filepath.Split(file)
	if i := strings.Index(base, "."); i > 0 {
		return dir + base[:i] + "." + tag + base[i:]
	}
	return file + "." + tag
}
