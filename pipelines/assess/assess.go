package assess

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/facts"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/policy"
	"github.com/sealyard/sealyard/pipelines/sbom"
	"github.com/sealyard/sealyard/pipelines/scan"
	"github.com/sealyard/sealyard/pipelines/secrets"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// Platform is what is known of one platform image: its SBOM packages and
// its findings (either may be missing).
type Platform struct {
	Name     string
	Packages []facts.SBOMPackage
	// HasSBOM is true when Packages come from an SBOM (an SBOM may list
	// no packages).
	HasSBOM bool
	Report  *facts.Report
}

// Assemble builds the gate's input from the image facts, the provenance
// and each platform's inventory and findings.
func Assemble(img policy.Image, prov policy.Provenance, platforms []Platform) policy.Input {
	in := policy.Input{Image: img, Provenance: prov}
	for _, p := range platforms {
		if p.HasSBOM {
			in.AddSBOM(p.Name, p.Packages)
		}
		if p.Report != nil {
			in.AddFindings(p.Name, p.Report)
		}
	}
	return in
}

// Provenance is where the image comes from: the CI system and repository
// sealyard runs in, overridden by the source and revision the image's own
// labels or annotations record.
func Provenance(info cienv.Info, img policy.Image) policy.Provenance {
	p := policy.ProvenanceFacts(info)
	var maps []map[string]string
	if len(img.Configs) > 0 {
		maps = append(maps, img.Configs[0].Labels)
	}
	maps = append(maps, img.Annotations)
	for _, m := range maps {
		if v := m["org.opencontainers.image.source"]; v != "" {
			p.SourceRepo = v
		}
		if v := m["org.opencontainers.image.revision"]; v != "" {
			p.Commit = v
		}
	}
	return p
}

// Scanned is an image cataloged and scanned: the gate's input, and the
// documents it rests on.
type Scanned struct {
	Input policy.Input
	SBOMs []*sbom.Document
	// Reports are the findings, in the order of SBOMs.
	Reports []*facts.Report
	// Secrets is the secrets scan (nil when not asked for).
	Secrets *facts.SecretsReport
}

// Image catalogs every platform image of a (concurrently), scans each
// with db, reads every layer for credentials when sec is not nil, and
// assembles the gate's input. ref is how the user named the image; info
// describes where sealyard runs.
func Image(ctx context.Context, ref string, a image.Artifact, db *vulndb.DB, info cienv.Info, sec *secrets.Options, opts ...sbom.Option) (*Scanned, error) {
	img, err := policy.ImageFacts(ref, a)
	if err != nil {
		return nil, err
	}
	docs, err := sbom.GenerateAll(ctx, a, opts...)
	if err != nil {
		return nil, err
	}
	out := &Scanned{SBOMs: docs}
	var platforms []Platform
	for _, d := range docs {
		rep, err := scan.Scan(ctx, scan.FromDocument(d), db)
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", d.Platform, err)
		}
		out.Reports = append(out.Reports, rep)
		platforms = append(platforms, Platform{Name: d.Platform.String(), Packages: sbom.Packages(d), HasSBOM: true, Report: rep})
	}
	out.Input = Assemble(img, Provenance(info, img), platforms)
	out.Input.Digests.DB = db.Status().Digest
	if sec != nil {
		if out.Secrets, err = secrets.ScanImage(ctx, a, ref, secrets.ImageOptions{Options: *sec}); err != nil {
			return nil, err
		}
		out.Input.AddSecrets(out.Secrets)
	}
	return out, nil
}

// Files is the input of a gate over precomputed results.
type Files struct {
	// Config is the image's OCI config JSON (crane config IMAGE).
	Config []byte
	// Reference and Digest name the image.
	Reference, Digest string
	// SBOMs are SBOM documents (one per platform), Findings sealyard's
	// findings documents (one per platform); Names name them in errors.
	SBOMs, Findings          [][]byte
	SBOMNames, FindingsNames []string
	// Secrets is a secrets report of the image (sealyard secrets -o
	// json), SecretsName its name in errors; nil when there is none.
	Secrets     []byte
	SecretsName string
}

// FromFiles assembles the gate's input from precomputed files. Each
// document's platform is the one it records, else the config's.
func FromFiles(f Files, info cienv.Info) (policy.Input, error) {
	cf, err := v1.ParseConfigFile(bytes.NewReader(f.Config))
	if err != nil {
		return policy.Input{}, fmt.Errorf("the image config is not an OCI image config (from crane config IMAGE): %w", err)
	}
	platform := image.UnknownPlatform.String()
	if p := cf.Platform(); p != nil && p.OS != "" {
		platform = p.String()
	}
	img := policy.Image{Reference: f.Reference, Digest: f.Digest}
	img.AddConfig(platform, cf, nil)
	var platforms []Platform
	for i, data := range f.SBOMs {
		doc, _, err := sbom.Decode(bytes.NewReader(data))
		if err != nil {
			return policy.Input{}, fmt.Errorf("%s: %w", nameAt(f.SBOMNames, i), err)
		}
		pl := platform
		if p := sbom.PlatformOf(doc); p != "" {
			pl = p
		}
		platforms = append(platforms, Platform{Name: pl, Packages: sbom.Packages(&sbom.Document{SBOM: doc}), HasSBOM: true})
	}
	for i, data := range f.Findings {
		var rep facts.Report
		if err := json.Unmarshal(data, &rep); err != nil || rep.SchemaVersion != facts.FindingsSchema {
			return policy.Input{}, fmt.Errorf("%s is not a findings document (%s) from sealyard scan -o json", nameAt(f.FindingsNames, i), facts.FindingsSchema)
		}
		pl := platform
		if rep.Image != nil && rep.Image.Platform != "" {
			pl = rep.Image.Platform
		}
		platforms = append(platforms, Platform{Name: pl, Report: &rep})
	}
	in := Assemble(img, Provenance(info, img), platforms)
	if f.Secrets != nil {
		var rep facts.SecretsReport
		if err := json.Unmarshal(f.Secrets, &rep); err != nil || rep.Schema != facts.SecretsSchema || rep.Kind != "image" {
			return policy.Input{}, fmt.Errorf("%s is not an image's secrets report (%s) from sealyard secrets IMAGE -o json", f.SecretsName, facts.SecretsSchema)
		}
		in.AddSecrets(&rep)
	}
	return in, nil
}

func nameAt(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("document %d", i+1)
}

// Findings catalogs and scans the image of a for platform p (every
// platform image when p is nil) and returns the findings: what a newer
// base image still carries, for facts.BaseUpdateOf.
func Findings(ctx context.Context, a image.Artifact, db *vulndb.DB, p *v1.Platform, opts ...sbom.Option) ([]facts.Finding, error) {
	imgs, err := image.Images(a)
	if err != nil {
		return nil, err
	}
	var out []facts.Finding
	for _, pi := range imgs {
		if p != nil && len(imgs) > 1 && !pi.Platform.Equals(*p) {
			continue
		}
		doc, err := sbom.Generate(ctx, pi.Image, opts...)
		if err != nil {
			return nil, err
		}
		rep, err := scan.Scan(ctx, scan.FromDocument(doc), db)
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", pi.Platform, err)
		}
		out = append(out, rep.Findings...)
	}
	return out, nil
}
