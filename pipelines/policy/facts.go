package policy

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
)

// ImageFacts reads what the policies need from an image or index: its
// digest, platforms, configuration (environment variables by name only)
// and base image annotations. ref is how the user named it.
func ImageFacts(ref string, a image.Artifact) (Image, error) {
	d, err := a.Digest()
	if err != nil {
		return Image{}, fmt.Errorf("image digest: %w", err)
	}
	imgs, err := image.Images(a)
	if err != nil {
		return Image{}, err
	}
	out := Image{Reference: ref, Digest: d.String()}
	for _, pi := range imgs {
		out.Platforms = append(out.Platforms, pi.Platform.String())
	}
	// Policies judge one configuration: the first platform's. Platform
	// images of one build share it.
	cf, err := imgs[0].Image.ConfigFile()
	if err != nil {
		return Image{}, fmt.Errorf("image config: %w", err)
	}
	c := cf.Config
	out.Config = Config{
		User:       c.User,
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		WorkingDir: c.WorkingDir,
		Labels:     c.Labels,
	}
	for _, e := range c.Env {
		name, _, _ := strings.Cut(e, "=")
		out.Config.EnvNames = append(out.Config.EnvNames, name)
	}
	for p := range c.ExposedPorts {
		out.Config.ExposedPorts = append(out.Config.ExposedPorts, p)
	}
	sort.Strings(out.Config.ExposedPorts)
	out.Annotations = annotations(a)
	if n, dg := out.Annotations["org.opencontainers.image.base.name"], out.Annotations["org.opencontainers.image.base.digest"]; n != "" || dg != "" {
		out.Base = &Base{Name: n, Digest: dg}
	} else if m, err := imgs[0].Image.Manifest(); err == nil {
		n, dg := m.Annotations["org.opencontainers.image.base.name"], m.Annotations["org.opencontainers.image.base.digest"]
		if n != "" || dg != "" {
			out.Base = &Base{Name: n, Digest: dg}
		}
	}
	return out, nil
}

func annotations(a image.Artifact) map[string]string {
	switch v := a.(type) {
	case v1.Image:
		if m, err := v.Manifest(); err == nil {
			return m.Annotations
		}
	case v1.ImageIndex:
		if m, err := v.IndexManifest(); err == nil {
			return m.Annotations
		}
	}
	return nil
}

// ProvenanceFacts turns detected CI and source information into the
// provenance the policies see.
func ProvenanceFacts(info cienv.Info) Provenance {
	return Provenance{
		SourceRepo: info.RepoURL, Commit: info.Commit, Ref: info.Ref,
		Builder: info.BuilderID, CISystem: string(info.System), RunURL: info.RunURL,
	}
}

// AddSBOM records the SBOM packages of one platform.
func (in *Input) AddSBOM(platform string, pkgs []facts.SBOMPackage) {
	in.SBOM.Present = true
	in.SBOM.Platforms = append(in.SBOM.Platforms, platform)
	index := map[string]int{}
	for i, p := range in.SBOM.Packages {
		index[p.Type+"|"+p.Name+"|"+p.Version] = i
	}
	for _, p := range pkgs {
		k := p.Type + "|" + p.Name + "|" + p.Version
		if i, ok := index[k]; ok {
			in.SBOM.Packages[i].Platforms = append(in.SBOM.Packages[i].Platforms, platform)
			continue
		}
		p.Platforms = []string{platform}
		index[k] = len(in.SBOM.Packages)
		in.SBOM.Packages = append(in.SBOM.Packages, p)
	}
}

// AddFindings records one platform's scan report.
func (in *Input) AddFindings(platform string, r *facts.Report) {
	for _, f := range r.Findings {
		f.Platform = platform
		in.Findings = append(in.Findings, f)
	}
	if in.Digests.DB == "" {
		in.Digests.DB = r.DB.Digest
	}
}
