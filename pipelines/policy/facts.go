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
// digest, platforms, the configuration of every platform image
// (environment variables by name only) and base image annotations. ref is
// how the user named it.
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
		cf, err := pi.Image.ConfigFile()
		if err != nil {
			return Image{}, fmt.Errorf("image config of %s: %w", pi.Platform, err)
		}
		var ann map[string]string
		if m, err := pi.Image.Manifest(); err == nil {
			ann = m.Annotations
		}
		out.AddConfig(pi.Platform.String(), cf, ann)
	}
	out.Annotations = annotations(a)
	if b := baseOf(out.Annotations); b != nil {
		out.Base = b
	} else if len(out.Configs) > 0 {
		out.Base = out.Configs[0].Base
	}
	return out, nil
}

// AddConfig records the configuration of one platform image (and its
// manifest's base annotations).
func (img *Image) AddConfig(platform string, cf *v1.ConfigFile, manifestAnnotations map[string]string) {
	c := cf.Config
	out := Config{
		Platform:   platform,
		User:       c.User,
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		WorkingDir: c.WorkingDir,
		Base:       baseOf(manifestAnnotations),
	}
	if len(c.Labels) > 0 {
		out.Labels = make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			out.Labels[k] = v
		}
	}
	for _, e := range c.Env {
		name, _, _ := strings.Cut(e, "=")
		out.EnvNames = append(out.EnvNames, name)
	}
	for p := range c.ExposedPorts {
		out.ExposedPorts = append(out.ExposedPorts, p)
	}
	sort.Strings(out.ExposedPorts)
	img.Platforms = append(img.Platforms, platform)
	img.Configs = append(img.Configs, out)
}

func baseOf(ann map[string]string) *Base {
	n, dg := ann["org.opencontainers.image.base.name"], ann["org.opencontainers.image.base.digest"]
	if n == "" && dg == "" {
		return nil
	}
	return &Base{Name: n, Digest: dg}
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

// AddSecrets records the secrets scan of the image.
func (in *Input) AddSecrets(r *facts.SecretsReport) {
	in.Secrets = &SecretsFacts{Scanned: true, RuleSet: r.RuleSet, Findings: append([]facts.SecretFinding(nil), r.Findings...)}
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
