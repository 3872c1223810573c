package image

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Scheme says where an image reference points.
type Scheme string

// The schemes a reference can carry, spelled as syft and grype spell them.
const (
	OCIDir        Scheme = "oci-dir"
	OCIArchive    Scheme = "oci-archive"
	DockerArchive Scheme = "docker-archive"
	Docker        Scheme = "docker"
	Registry      Scheme = "registry"
)

// Schemes lists every scheme in the order help texts show them.
var Schemes = []Scheme{OCIDir, OCIArchive, DockerArchive, Docker, Registry}

// ErrBadReference is wrapped by every error ParseRef returns.
var ErrBadReference = errors.New("bad image reference")

// Ref is a parsed image reference.
type Ref struct {
	// Scheme says where the image lives.
	Scheme Scheme
	// Path is the filesystem path for oci-dir, oci-archive and docker-archive.
	Path string
	// Name is the image name for docker and registry references.
	Name name.Reference
}

// ParseRef parses s. A string without a known scheme prefix is a registry
// reference, as in syft and grype.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, fmt.Errorf("%w: empty reference", ErrBadReference)
	}
	scheme, rest, found := strings.Cut(s, ":")
	if found {
		switch Scheme(scheme) {
		case OCIDir, OCIArchive, DockerArchive:
			if rest == "" {
				return Ref{}, fmt.Errorf("%w %q: %s needs a path", ErrBadReference, s, scheme)
			}
			return Ref{Scheme: Scheme(scheme), Path: rest}, nil
		case Docker, Registry:
			n, err := name.ParseReference(rest)
			if err != nil {
				return Ref{}, fmt.Errorf("%w %q: %w", ErrBadReference, s, err)
			}
			return Ref{Scheme: Scheme(scheme), Name: n}, nil
		}
	}
	n, err := name.ParseReference(s)
	if err != nil {
		return Ref{}, fmt.Errorf("%w %q: %w", ErrBadReference, s, err)
	}
	return Ref{Scheme: Registry, Name: n}, nil
}

// String returns the reference in the form ParseRef reads.
func (r Ref) String() string {
	switch r.Scheme {
	case OCIDir, OCIArchive, DockerArchive:
		return string(r.Scheme) + ":" + r.Path
	case Docker:
		return string(r.Scheme) + ":" + r.Name.String()
	default:
		if r.Name == nil {
			return ""
		}
		return string(Registry) + ":" + r.Name.String()
	}
}
