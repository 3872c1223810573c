package build

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
)

// DefaultUser is the user images run as unless told otherwise: the
// conventional "nonroot" uid of distroless and Chainguard images.
const DefaultUser = "65532"

// Option configures Build.
type Option func(*options) error

type options struct {
	base       image.Artifact
	baseName   string
	platforms  []v1.Platform
	created    time.Time
	entrypoint []string
	cmd        []string
	cmdSet     bool
	env        []string
	workdir    string
	user       string
	ports      []string
	labels     map[string]string
	annots     map[string]string
	info       cienv.Info
	goEnv      []string
	goFlags    []string
	// environ is sealyard's own environment (os.Environ; tests set it).
	environ func() []string
	ldflags string
}

func defaults() *options {
	return &options{
		created: time.Unix(0, 0).UTC(),
		user:    DefaultUser,
		labels:  map[string]string{},
		annots:  map[string]string{},
		environ: os.Environ,
	}
}

// WithBase builds on base (an image or index); ref is how the user named it,
// recorded in the org.opencontainers.image.base.name annotation. Without
// WithBase, images start from scratch.
func WithBase(ref string, base image.Artifact) Option {
	return func(o *options) error {
		if base == nil {
			return fmt.Errorf("base %q is nil", ref)
		}
		o.base, o.baseName = base, ref
		return nil
	}
}

// WithPlatforms sets the platforms to build. One platform gives an image,
// several an index. The default is the base image's platforms, or
// linux/<host architecture> on scratch.
func WithPlatforms(ps ...v1.Platform) Option {
	return func(o *options) error {
		for _, p := range ps {
			if p.OS == "" || p.Architecture == "" {
				return fmt.Errorf("platform %q needs an OS and an architecture", p.String())
			}
		}
		o.platforms = ps
		return nil
	}
}

// WithCreated sets the image creation time and every layer timestamp.
// Callers pass SOURCE_DATE_EPOCH here (see cienv.SourceDateEpoch).
func WithCreated(t time.Time) Option {
	return func(o *options) error {
		o.created = t.UTC()
		return nil
	}
}

// WithEntrypoint sets the entrypoint; for Go builds the default is the binary.
func WithEntrypoint(args ...string) Option {
	return func(o *options) error {
		o.entrypoint = args
		return nil
	}
}

// WithCmd sets the default arguments.
func WithCmd(args ...string) Option {
	return func(o *options) error {
		o.cmd, o.cmdSet = args, true
		return nil
	}
}

// WithEnv adds KEY=VALUE environment variables, replacing the base's.
func WithEnv(kv ...string) Option {
	return func(o *options) error {
		for _, e := range kv {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
				return fmt.Errorf("environment variable %q is not KEY=VALUE", e)
			}
		}
		o.env = append(o.env, kv...)
		return nil
	}
}

// WithWorkingDir sets the working directory.
func WithWorkingDir(dir string) Option {
	return func(o *options) error {
		o.workdir = dir
		return nil
	}
}

// WithUser sets the user (name, uid or uid:gid). The default is 65532.
// Running as root is spelled out: WithUser("0") or WithUser("root").
func WithUser(u string) Option {
	return func(o *options) error {
		if u == "" {
			return fmt.Errorf("user must not be empty (use \"0\" to run as root)")
		}
		o.user = u
		return nil
	}
}

// WithExposedPorts exposes ports such as "8080" or "8080/tcp".
func WithExposedPorts(ports ...string) Option {
	return func(o *options) error {
		for _, p := range ports {
			num, proto, _ := strings.Cut(p, "/")
			if num == "" || strings.Trim(num, "0123456789") != "" || (proto != "" && proto != "tcp" && proto != "udp" && proto != "sctp") {
				return fmt.Errorf("exposed port %q is not PORT[/tcp|udp|sctp]", p)
			}
		}
		o.ports = append(o.ports, ports...)
		return nil
	}
}

// WithLabels sets config labels.
func WithLabels(l map[string]string) Option {
	return func(o *options) error {
		for k, v := range l {
			o.labels[k] = v
		}
		return nil
	}
}

// WithAnnotations sets manifest (and index) annotations; they win over the
// ones derived from WithSourceInfo.
func WithAnnotations(a map[string]string) Option {
	return func(o *options) error {
		for k, v := range a {
			o.annots[k] = v
		}
		return nil
	}
}

// WithSourceInfo records the repository, commit and version from info as OCI
// annotations (org.opencontainers.image.source, .revision, .version).
func WithSourceInfo(info cienv.Info) Option {
	return func(o *options) error {
		o.info = info
		return nil
	}
}

// WithGoEnv adds environment variables for go build (GOPROXY, GOFLAGS, ...).
// GOOS, GOARCH and CGO_ENABLED are always set by the builder.
func WithGoEnv(kv ...string) Option {
	return func(o *options) error {
		if err := checkGoEnv(kv, "build environment"); err != nil {
			return err
		}
		o.goEnv = append(o.goEnv, kv...)
		return nil
	}
}

// WithGoFlags adds flags to go build (for example -tags=netgo).
// -toolexec and -exec are refused.
func WithGoFlags(flags ...string) Option {
	return func(o *options) error {
		if err := checkGoFlags(flags, "go flags"); err != nil {
			return err
		}
		o.goFlags = append(o.goFlags, flags...)
		return nil
	}
}

// WithLdflags sets go build -ldflags (for example "-s -w -X main.version=1").
func WithLdflags(s string) Option {
	return func(o *options) error {
		o.ldflags = s
		return nil
	}
}

func hostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
}
