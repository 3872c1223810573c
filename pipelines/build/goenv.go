package build

import (
	"fmt"
	"strings"
)

// goEnvAllowed are the only variables of sealyard's own environment that
// reach the go command: what it needs to find its toolchain, caches,
// modules and proxies. Everything else (signing passwords, registry and
// CI tokens, cloud credentials) stays out of the build, where a module's
// code generator or a compromised dependency could read it.
var goEnvAllowed = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "TMPDIR": true, "LANG": true,
	"GOROOT": true, "GOPATH": true, "GOCACHE": true, "GOMODCACHE": true, "GOENV": true,
	"GOPROXY": true, "GONOPROXY": true, "GOPRIVATE": true, "GONOSUMDB": true, "GOSUMDB": true,
	"GOINSECURE": true, "GOTOOLCHAIN": true, "GOEXPERIMENT": true, "GOFLAGS": true,
	"GOAMD64": true, "GOARM64": true, "GOTMPDIR": true, "GOVCS": true, "GOWORK": true, "GODEBUG": true,
	"XDG_CACHE_HOME": true, "XDG_CONFIG_HOME": true,
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "http_proxy": true, "https_proxy": true, "no_proxy": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
	"GIT_SSH_COMMAND": true, "GIT_TERMINAL_PROMPT": true, "SSH_AUTH_SOCK": true,
}

// scrubbedEnv keeps the allowed variables of environ.
func scrubbedEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if goEnvAllowed[k] {
			out = append(out, kv)
		}
	}
	return out
}

// checkGoFlags refuses the go build flags that run another program in the
// build (-toolexec, -exec): a committed config file must not be able to
// run code with the pipeline's privileges.
func checkGoFlags(flags []string, where string) error {
	for _, f := range flags {
		name, _, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if strings.HasPrefix(f, "-") && (name == "toolexec" || name == "exec") {
			return fmt.Errorf("%s: go flag %q runs another program in the build; sealyard refuses -toolexec and -exec", where, f)
		}
	}
	return nil
}

// checkGoEnv applies checkGoFlags to a GOFLAGS variable.
func checkGoEnv(kv []string, where string) error {
	for _, e := range kv {
		if v, ok := strings.CutPrefix(e, "GOFLAGS="); ok {
			if err := checkGoFlags(strings.Fields(v), where+" GOFLAGS"); err != nil {
				return err
			}
		}
	}
	return nil
}

// baseGoEnv is the environment every go command of a build starts from:
// sealyard's own, scrubbed, then the options' variables.
func baseGoEnv(o *options) ([]string, error) {
	env := scrubbedEnv(o.environ())
	if err := checkGoEnv(env, "the environment's"); err != nil {
		return nil, err
	}
	return append(env, o.goEnv...), nil
}
