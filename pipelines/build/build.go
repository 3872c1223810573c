package build

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sealyard/sealyard/pipelines/image"
)

// Source is something Build adds to an image as one layer: a Go main package
// (GoPackage) or a directory (Directory).
type Source interface {
	// String names the source in history entries and errors.
	String() string
	layer(ctx context.Context, p v1.Platform, o *options, mt types.MediaType) (layerResult, error)
}

type layerResult struct {
	layer      v1.Layer
	entrypoint []string // what the layer suggests running, if anything
	// createdBy describes the layer in the image history. It must not
	// depend on where the build ran, or digests would.
	createdBy string
}

// Standard OCI annotation keys Build sets.
const (
	AnnotationCreated    = "org.opencontainers.image.created"
	AnnotationSource     = "org.opencontainers.image.source"
	AnnotationRevision   = "org.opencontainers.image.revision"
	AnnotationVersion    = "org.opencontainers.image.version"
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// Build layers srcs, in order, on the base image for every platform and
// returns a v1.Image (one platform) or a v1.ImageIndex (several).
func Build(ctx context.Context, srcs []Source, opts ...Option) (image.Artifact, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("nothing to build: give a Go package or a directory")
	}
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	bases, err := basesFor(o)
	if err != nil {
		return nil, err
	}
	var built []image.PlatformImage
	for _, b := range bases {
		img, err := buildOne(ctx, srcs, b, o)
		if err != nil {
			return nil, fmt.Errorf("building for %s: %w", b.Platform.String(), err)
		}
		built = append(built, image.PlatformImage{Platform: b.Platform, Image: img})
	}
	if len(built) == 1 {
		return built[0].Image, nil
	}
	var adds []mutate.IndexAddendum
	for _, b := range built {
		p := b.Platform
		adds = append(adds, mutate.IndexAddendum{Add: b.Image, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	annots := annotations(o, "")
	if len(annots) > 0 {
		idx = mutate.Annotations(idx, annots).(v1.ImageIndex)
	}
	return idx, nil
}

// basesFor picks the base image of every target platform.
func basesFor(o *options) ([]image.PlatformImage, error) {
	if o.base == nil {
		ps := o.platforms
		if len(ps) == 0 {
			ps = []v1.Platform{hostPlatform()}
		}
		var out []image.PlatformImage
		for _, p := range ps {
			out = append(out, image.PlatformImage{Platform: p, Image: scratch()})
		}
		return out, nil
	}
	have, err := image.Images(o.base)
	if err != nil {
		return nil, fmt.Errorf("base %q: %w", o.baseName, err)
	}
	if len(o.platforms) == 0 {
		return have, nil
	}
	var out []image.PlatformImage
	for _, want := range o.platforms {
		found := false
		for _, h := range have {
			if platformMatches(h.Platform, want) {
				out = append(out, image.PlatformImage{Platform: want, Image: h.Image})
				found = true
				break
			}
		}
		if !found {
			var names []string
			for _, h := range have {
				names = append(names, h.Platform.String())
			}
			return nil, fmt.Errorf("base %q has no %s image (it has %s)", o.baseName, want.String(), strings.Join(names, ", "))
		}
	}
	return out, nil
}

func platformMatches(have, want v1.Platform) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	return want.Variant == "" || have.Variant == want.Variant ||
		(want.Architecture == "arm64" && want.Variant == "v8" && have.Variant == "")
}

func scratch() v1.Image {
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
}

func buildOne(ctx context.Context, srcs []Source, base image.PlatformImage, o *options) (v1.Image, error) {
	img := base.Image
	mt, err := img.MediaType()
	if err != nil {
		return nil, fmt.Errorf("reading base media type: %w", err)
	}
	layerType := types.OCILayer
	if mt == types.DockerManifestSchema2 {
		layerType = types.DockerLayer
	}
	var entrypoint []string
	for _, src := range srcs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := src.layer(ctx, base.Platform, o, layerType)
		if err != nil {
			return nil, err
		}
		if entrypoint == nil {
			entrypoint = res.entrypoint
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:     res.layer,
			MediaType: layerType,
			History: v1.History{
				Created:   v1.Time{Time: o.created},
				CreatedBy: res.createdBy,
				Comment:   "sealyard",
			},
		})
		if err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cf = cf.DeepCopy()
	applyConfig(cf, base.Platform, entrypoint, o)
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	if mt == types.DockerManifestSchema2 {
		// Annotations belong to OCI manifests; layers keep their Docker types,
		// which every OCI runtime and registry accepts.
		img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	baseDigest := ""
	if o.base != nil {
		d, err := base.Image.Digest()
		if err != nil {
			return nil, fmt.Errorf("base digest: %w", err)
		}
		baseDigest = d.String()
	}
	if annots := annotations(o, baseDigest); len(annots) > 0 {
		img = mutate.Annotations(img, annots).(v1.Image)
	}
	return img, nil
}

func applyConfig(cf *v1.ConfigFile, p v1.Platform, entrypoint []string, o *options) {
	cf.Created = v1.Time{Time: o.created}
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	c := &cf.Config
	switch {
	case o.entrypoint != nil:
		c.Entrypoint = o.entrypoint
		c.Cmd = nil
	case entrypoint != nil:
		c.Entrypoint = entrypoint
		c.Cmd = nil
	}
	if o.cmdSet {
		c.Cmd = o.cmd
	}
	c.Env = mergeEnv(c.Env, o.env)
	if o.workdir != "" {
		c.WorkingDir = o.workdir
	}
	c.User = o.user
	if len(o.ports) > 0 {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, port := range o.ports {
			if !strings.Contains(port, "/") {
				port += "/tcp"
			}
			c.ExposedPorts[port] = struct{}{}
		}
	}
	labels := map[string]string{}
	for k, v := range c.Labels {
		labels[k] = v
	}
	for k, v := range sourceAnnotations(o) {
		labels[k] = v
	}
	for k, v := range o.labels {
		labels[k] = v
	}
	if len(labels) > 0 {
		c.Labels = labels
	}
}

func mergeEnv(base, add []string) []string {
	out := append([]string(nil), base...)
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range out {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				out[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			out = append(out, kv)
		}
	}
	return out
}

// sourceAnnotations are the OCI keys derived from the source info and the
// creation time.
func sourceAnnotations(o *options) map[string]string {
	a := map[string]string{}
	if o.info.RepoURL != "" {
		a[AnnotationSource] = o.info.RepoURL
	}
	if o.info.Commit != "" {
		a[AnnotationRevision] = o.info.Commit
	}
	if o.info.Tag != "" {
		a[AnnotationVersion] = o.info.Tag
	}
	if o.created.Unix() != 0 {
		a[AnnotationCreated] = o.created.Format("2006-01-02T15:04:05Z")
	}
	return a
}

func annotations(o *options, baseDigest string) map[string]string {
	a := sourceAnnotations(o)
	if o.baseName != "" {
		a[AnnotationBaseName] = o.baseName
	}
	if baseDigest != "" {
		a[AnnotationBaseDigest] = baseDigest
	}
	for k, v := range o.annots {
		a[k] = v
	}
	return a
}
