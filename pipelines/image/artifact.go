package image

import (
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is a v1.Image or a v1.ImageIndex: both have a media type, a digest
// and a manifest, which is all pushing and signing need.
type Artifact interface {
	MediaType() (types.MediaType, error)
	Digest() (v1.Hash, error)
	RawManifest() ([]byte, error)
}

// PlatformImage is one image of an artifact with the platform it runs on.
type PlatformImage struct {
	Platform v1.Platform
	Image    v1.Image
}

// Images flattens a into its platform images: the image itself, or each
// image an index lists (nested indexes included). Entries that are not
// runnable images, such as BuildKit attestation manifests
// (platform unknown/unknown), are left out.
func Images(a Artifact) ([]PlatformImage, error) {
	switch v := a.(type) {
	case v1.Image:
		cf, err := v.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading image config: %w", err)
		}
		return []PlatformImage{{Platform: ConfigPlatform(cf), Image: v}}, nil
	case v1.ImageIndex:
		return indexImages(v, 0)
	default:
		return nil, fmt.Errorf("unsupported artifact type %T", a)
	}
}

const maxIndexDepth = 4

func indexImages(idx v1.ImageIndex, depth int) ([]PlatformImage, error) {
	if depth > maxIndexDepth {
		return nil, fmt.Errorf("image index nested deeper than %d levels", maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index manifest: %w", err)
	}
	var out []PlatformImage
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading nested index %s: %w", d.Digest, err)
			}
			imgs, err := indexImages(child, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, imgs...)
		case d.MediaType.IsImage():
			if d.Platform != nil && d.Platform.OS == "unknown" {
				continue // attestation manifest, not a runnable image
			}
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
			}
			p := d.Platform
			if p == nil {
				cf, err := img.ConfigFile()
				if err != nil {
					return nil, fmt.Errorf("reading config of image %s: %w", d.Digest, err)
				}
				c := ConfigPlatform(cf)
				p = &c
			}
			out = append(out, PlatformImage{Platform: *p, Image: img})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("image index lists no images")
	}
	return out, nil
}

// UnknownPlatform names the platform of an image whose config names none
// (made by appending layers to an empty base, for example). Such an image
// is still read, cataloged and gated; its platform reads "unknown".
var UnknownPlatform = v1.Platform{OS: "unknown"}

// ConfigPlatform is the platform an image config names, or
// UnknownPlatform.
func ConfigPlatform(cf *v1.ConfigFile) v1.Platform {
	if p := cf.Platform(); p != nil && p.OS != "" {
		return *p
	}
	return UnknownPlatform
}

// ParsePlatforms parses a comma-separated list such as
// "linux/amd64,linux/arm64/v8". "all" and "" give nil (every platform).
func ParsePlatforms(s string) ([]v1.Platform, error) {
	if s == "" || s == "all" {
		return nil, nil
	}
	var out []v1.Platform
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := v1.ParsePlatform(part)
		if err != nil {
			return nil, fmt.Errorf("parsing platform %q: %w", part, err)
		}
		if p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("parsing platform %q: want OS/ARCH[/VARIANT]", part)
		}
		out = append(out, *p)
	}
	return out, nil
}

// matches reports whether have satisfies want: OS and architecture equal,
// and the variant equal when want names one.
func matches(have, want v1.Platform) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	if want.Variant != "" && have.Variant != want.Variant {
		// arm64 images often omit the implied v8.
		return want.Architecture == "arm64" && want.Variant == "v8" && have.Variant == ""
	}
	return true
}

// DiffIDs returns the layer diff IDs (bottom first) of the image of a for
// platform p: a itself when it is an image, else the index's image for p.
// A scan given them as the base image's layers attributes findings in
// those layers to the base.
func DiffIDs(a Artifact, p v1.Platform) ([]string, error) {
	imgs, err := Images(a)
	if err != nil {
		return nil, err
	}
	var img v1.Image
	for _, pi := range imgs {
		if len(imgs) == 1 || pi.Platform.Equals(p) {
			img = pi.Image
			break
		}
	}
	if img == nil {
		return nil, fmt.Errorf("the base image has no %s image", p.String())
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the base image config: %w", err)
	}
	out := make([]string, len(cf.RootFS.DiffIDs))
	for i, d := range cf.RootFS.DiffIDs {
		out[i] = d.String()
	}
	return out, nil
}
