// Package dbartifact stores the vulnerability database in a registry as a
// signed OCI artifact, and installs it from there only after its
// signature and digest verify: teams mirror the database in their own
// registry, and CI never downloads it from a rate-limited source.
//
// The artifact is one OCI manifest (artifactType ArtifactType) whose
// config is the database's status (schema, build time, providers, counts,
// digest) and whose one layer is grype's vulnerability.db itself, so the
// layer digest is the database digest every scan records.
package dbartifact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/sealyard/sealyard/pipelines/registry"
	"github.com/sealyard/sealyard/pipelines/sign"
	"github.com/sealyard/sealyard/pipelines/verify"
	"github.com/sealyard/sealyard/pipelines/vulndb"
)

// Media types of the artifact.
const (
	ArtifactType    = "application/vnd.sealyard.vulndb.v1"
	ConfigMediaType = "application/vnd.sealyard.vulndb.config.v1+json"
	LayerMediaType  = "application/vnd.sealyard.vulndb.grype.v6.sqlite"
	// DigestAnnotation carries the database digest on the manifest.
	DigestAnnotation = "dev.sealyard.vulndb.digest"
	// MaxDBBytes bounds what a pull downloads.
	MaxDBBytes = 2 << 30
)

// ErrArtifact is wrapped by errors about an artifact that is not a
// sealyard database or does not match what it claims.
var ErrArtifact = errors.New("not a valid vulnerability database artifact")

// artifact is the database as an OCI manifest, config and layer.
type artifact struct {
	manifest, config []byte
	layer            v1.Layer
}

func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.manifest, nil }
func (a *artifact) RawConfigFile() ([]byte, error)      { return a.config, nil }
func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if d, _ := a.layer.Digest(); d == h {
		return a.layer, nil
	}
	return nil, fmt.Errorf("no layer %s", h)
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations"`
}

// build makes the artifact of the database under root.
func build(root string) (*artifact, vulndb.Status, error) {
	st, err := vulndb.Inspect(root)
	if err != nil {
		return nil, st, err
	}
	data, err := os.ReadFile(st.Path)
	if err != nil {
		return nil, st, err
	}
	layer := static.NewLayer(data, LayerMediaType)
	ld, err := layer.Digest()
	if err != nil {
		return nil, st, err
	}
	if ld.String() != st.Digest {
		return nil, st, fmt.Errorf("%s changed while it was read", st.Path)
	}
	meta := st
	meta.Dir, meta.Path, meta.Artifact = "", "", ""
	config, err := json.Marshal(meta)
	if err != nil {
		return nil, st, err
	}
	ch, _, err := v1.SHA256(bytes.NewReader(config))
	if err != nil {
		return nil, st, err
	}
	m := manifest{
		SchemaVersion: 2, MediaType: string(types.OCIManifestSchema1), ArtifactType: ArtifactType,
		Config: descriptor{MediaType: ConfigMediaType, Digest: ch.String(), Size: int64(len(config))},
		Layers: []descriptor{{MediaType: LayerMediaType, Digest: ld.String(), Size: int64(len(data)),
			Annotations: map[string]string{"org.opencontainers.image.title": "vulnerability.db"}}},
		Annotations: map[string]string{
			"org.opencontainers.image.created": st.Built.UTC().Format("2006-01-02T15:04:05Z"),
			DigestAnnotation:                   st.Digest,
			"dev.sealyard.vulndb.schema":       st.SchemaVersion,
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, st, err
	}
	return &artifact{manifest: raw, config: config, layer: layer}, st, nil
}

// Pushed is what Push stored.
type Pushed struct {
	// Reference is REPOSITORY@DIGEST of the artifact.
	Reference string `json:"reference"`
	// DB is the database's status (its digest is the layer's).
	DB vulndb.Status `json:"db"`
}

// Push stores the database under root at ref (REPOSITORY:TAG) and signs
// the artifact's digest with signer. The same database gives the same
// artifact digest.
func Push(ctx context.Context, root, ref string, reg *registry.Client, signer sign.Signer, opts ...sign.Option) (*Pushed, error) {
	a, st, err := build(root)
	if err != nil {
		return nil, err
	}
	r, err := name.ParseReference(ref, reg.NameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("parsing %q: %w", ref, err)
	}
	img, err := partial.CompressedToImage(a)
	if err != nil {
		return nil, err
	}
	if err := remote.Write(r, img, reg.RemoteOptions(ctx)...); err != nil {
		return nil, fmt.Errorf("pushing the database to %s: %w", r, reg.Explain(err))
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	dig := r.Context().Digest(d.String())
	if _, err := sign.Image(ctx, dig, signer, append([]sign.Option{sign.WithRegistry(reg)}, opts...)...); err != nil {
		return nil, fmt.Errorf("signing the database artifact %s: %w", dig, err)
	}
	return &Pushed{Reference: dig.String(), DB: st}, nil
}

// Pull verifies the artifact at ref (its signature, with opts: the key or
// keyless identity), checks it is a sealyard database whose layer is the
// digest it claims, and installs it under root with vulndb.Import (the
// database in root is replaced only by one that opens and is intact).
// The returned status names the artifact; scans record it.
func Pull(ctx context.Context, ref, root string, reg *registry.Client, opts ...verify.Option) (vulndb.Status, error) {
	res, err := verify.Verify(ctx, ref, append([]verify.Option{verify.WithRegistry(reg)}, opts...)...)
	if err != nil {
		return vulndb.Status{}, fmt.Errorf("the database artifact %s does not verify: %w", ref, err)
	}
	r, err := name.ParseReference(res.Reference, reg.NameOptions()...)
	if err != nil {
		return vulndb.Status{}, err
	}
	dig := r.Context().Digest(res.Digest)
	img, err := remote.Image(dig, reg.RemoteOptions(ctx)...)
	if err != nil {
		return vulndb.Status{}, fmt.Errorf("reading %s: %w", dig, reg.Explain(err))
	}
	raw, err := img.RawManifest()
	if err != nil {
		return vulndb.Status{}, err
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil || m.ArtifactType != ArtifactType || m.Config.MediaType != ConfigMediaType ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != LayerMediaType {
		return vulndb.Status{}, fmt.Errorf("%w: %s (artifact type %q)", ErrArtifact, dig, m.ArtifactType)
	}
	want := m.Layers[0].Digest
	if m.Annotations[DigestAnnotation] != want {
		return vulndb.Status{}, fmt.Errorf("%w: %s says the database is %s, but its layer is %s", ErrArtifact, dig, m.Annotations[DigestAnnotation], want)
	}
	if m.Layers[0].Size <= 0 || m.Layers[0].Size > MaxDBBytes {
		return vulndb.Status{}, fmt.Errorf("%w: %s: a database of %d bytes", ErrArtifact, dig, m.Layers[0].Size)
	}
	h, err := v1.NewHash(want)
	if err != nil {
		return vulndb.Status{}, fmt.Errorf("%w: %s: %w", ErrArtifact, dig, err)
	}
	l, err := img.LayerByDigest(h)
	if err != nil {
		return vulndb.Status{}, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return vulndb.Status{}, err
	}
	stage, err := os.MkdirTemp(root, ".pull-*")
	if err != nil {
		return vulndb.Status{}, err
	}
	defer os.RemoveAll(stage)
	file := filepath.Join(stage, "vulnerability.db")
	if err := download(l, file, m.Layers[0].Size); err != nil {
		return vulndb.Status{}, fmt.Errorf("downloading the database of %s: %w", dig, reg.Explain(err))
	}
	st, err := vulndb.Install(file, root, dig.String())
	if err != nil {
		return vulndb.Status{}, err
	}
	if st.Digest != want {
		return vulndb.Status{}, fmt.Errorf("%w: %s installed as %s, not %s", ErrArtifact, dig, st.Digest, want)
	}
	rec, err := json.Marshal(vulndb.ArtifactRecord{Reference: dig.String(), DBDigest: want})
	if err != nil {
		return vulndb.Status{}, err
	}
	if err := os.WriteFile(filepath.Join(root, vulndb.ArtifactFile), rec, 0o644); err != nil {
		return vulndb.Status{}, err
	}
	return vulndb.Inspect(root)
}

// download writes the layer to file; go-containerregistry checks the
// bytes against the layer digest as the stream ends.
func download(l v1.Layer, file string, size int64) error {
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, io.LimitReader(rc, size+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%w: %d bytes, the manifest says %d", ErrArtifact, n, size)
	}
	return nil
}
