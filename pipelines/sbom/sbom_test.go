package sbom

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/anchore/syft/syft/pkg"

	"github.com/sealyard/sealyard/internal/testutil/debian"
	"github.com/sealyard/sealyard/internal/testutil/schemas"
	"github.com/sealyard/sealyard/internal/testutil/vulnfixture"
	"github.com/sealyard/sealyard/pipelines/image"
)

func mustGenerate(t *testing.T, img v1.Image, opts ...Option) *Document {
	t.Helper()
	d, err := Generate(context.Background(), img, append([]Option{WithName("fixture")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// goVersionM returns module -> version of a Go binary as go version -m
// reports them (the main module and every dependency).
func goVersionM(t *testing.T, bin string) map[string]string {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m %s: %v", bin, err)
	}
	mods := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && (f[0] == "dep" || f[0] == "=>") {
			mods[f[1]] = f[2]
		}
		if len(f) >= 2 && f[0] == "go" && strings.HasPrefix(f[1], "go1") && !strings.Contains(sc.Text(), "\t") {
			mods["stdlib"] = f[1]
		}
	}
	// The first line is "BINARY: goVERSION".
	first := strings.SplitN(string(out), "\n", 2)[0]
	if i := strings.LastIndex(first, " "); i > 0 {
		mods["stdlib"] = strings.TrimSpace(first[i+1:])
	}
	return mods
}

func TestSBOMRecall(t *testing.T) {
	fx := vulnfixture.Image(t)
	d := mustGenerate(t, fx.Image)
	got := map[string]map[string]string{} // location -> name -> version
	for _, p := range d.SBOM.Artifacts.Packages.Sorted() {
		for _, l := range p.Locations.ToSlice() {
			if got[l.RealPath] == nil {
				got[l.RealPath] = map[string]string{}
			}
			got[l.RealPath][p.Name] = p.Version
		}
	}
	for name, bin := range fx.Binaries {
		want := goVersionM(t, bin)
		have := got["/usr/local/bin/"+name]
		if len(want) < 2 {
			t.Fatalf("go version -m %s listed %v", name, want)
		}
		for mod, ver := range want {
			if have[mod] != ver {
				t.Errorf("%s: module %s is %q in go version -m, %q in the SBOM", name, mod, ver, have[mod])
			}
		}
	}
	installed := debian.Installed(t, fx.Rootfs)
	if len(installed) != len(debian.SmallBase) {
		t.Fatalf("fixture has %d packages: %v", len(installed), installed)
	}
	debs := map[string]string{}
	for _, p := range d.SBOM.Artifacts.Packages.Sorted(pkg.DebPkg) {
		debs[p.Name] = p.Version
	}
	for name, ver := range installed {
		if debs[name] != ver {
			t.Errorf("Debian package %s is %q in dpkg status, %q in the SBOM", name, ver, debs[name])
		}
	}
	if d.SBOM.Artifacts.LinuxDistribution == nil || d.SBOM.Artifacts.LinuxDistribution.ID != "debian" {
		t.Errorf("distro %+v", d.SBOM.Artifacts.LinuxDistribution)
	}
}

func TestEncodingsValidateAndAreDeterministic(t *testing.T) {
	fx := vulnfixture.Image(t)
	a, b := mustGenerate(t, fx.Image), mustGenerate(t, fx.Image)
	digest, _ := fx.Image.Digest()
	epoch := time.Unix(1700000000, 0)
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			x, err := EncodeBytes(a, f, epoch)
			if err != nil {
				t.Fatal(err)
			}
			y, err := EncodeBytes(b, f, epoch)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(x, y) {
				t.Fatalf("two SBOMs of the same image differ (%d and %d bytes)", len(x), len(y))
			}
			if !bytes.Contains(x, []byte(digest.String())) {
				t.Errorf("the document does not name the image digest %s", digest)
			}
			switch f {
			case CycloneDXJSON:
				schemas.Validate(t, schemas.CycloneDX, x)
				var doc struct{ Metadata struct{ Timestamp string } }
				json.Unmarshal(x, &doc)
				if doc.Metadata.Timestamp != "2023-11-14T22:13:20Z" {
					t.Errorf("timestamp %q", doc.Metadata.Timestamp)
				}
			case SPDXJSON:
				schemas.Validate(t, schemas.SPDX, x)
			}
			back, format, err := Decode(bytes.NewReader(x))
			if err != nil {
				t.Fatalf("decoding our own %s: %v", f, err)
			}
			if format != f || back.Artifacts.Packages.PackageCount() == 0 {
				t.Fatalf("decoded %s with %d packages", format, back.Artifacts.Packages.PackageCount())
			}
		})
	}
}

func TestGenerateAllPlatforms(t *testing.T) {
	fx := vulnfixture.Image(t)
	cf, _ := fx.Image.ConfigFile()
	cf = cf.DeepCopy()
	cf.Architecture = "arm64"
	armImg, err := mutate.ConfigFile(fx.Image, cf)
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: fx.Image, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: armImg, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	docs, err := GenerateAll(context.Background(), idx, WithName("fixture"))
	if err != nil {
		t.Fatal(err)
	}
	imgs, _ := image.Images(idx)
	if len(docs) != 2 {
		t.Fatalf("%d documents for a two-platform index", len(docs))
	}
	for i, d := range docs {
		want, _ := imgs[i].Image.Digest()
		if d.Digest != want || d.Platform.Architecture != imgs[i].Platform.Architecture {
			t.Errorf("document %d is for %s %s, want %s %s", i, d.Digest, d.Platform.Architecture, want, imgs[i].Platform.Architecture)
		}
		if d.SBOM.Artifacts.Packages.PackageCount() < 10 {
			t.Errorf("document %d has %d packages", i, d.SBOM.Artifacts.Packages.PackageCount())
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not JSON":       "this is not an SBOM",
		"broken JSON":    `{"bomFormat": "CycloneDX", `,
		"unknown format": `{"kind": "inventory", "items": []}`,
		"empty":          "",
	} {
		if _, _, err := Decode(strings.NewReader(in)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

// Credentials in the image config (a label value, a credential-named
// environment variable, and the Dockerfile history that set them) reach
// no SBOM format: syft copies labels and the raw config into its output.
func TestSBOMRedactsConfigSecrets(t *testing.T) {
	awsKey, dbPassword := vulnfixture.SecretLabelValue, vulnfixture.SecretEnvValue
	d, err := Generate(context.Background(), vulnfixture.SecretImage(t), WithName("leaky"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{CycloneDXJSON, SPDXJSON, SyftJSON} {
		data, err := EncodeBytes(d, f, time.Unix(1700000000, 0))
		if err != nil {
			t.Fatal(err)
		}
		if f == SyftJSON {
			// syft JSON holds the raw config base64-encoded.
			var doc struct {
				Source struct {
					Metadata struct {
						Config []byte `json:"config"`
					} `json:"metadata"`
				} `json:"source"`
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Source.Metadata.Config) == 0 || !bytes.Contains(doc.Source.Metadata.Config, []byte("DB_PASSWORD=<redacted sha256:")) {
				t.Errorf("the syft JSON config is missing or not redacted: %s", doc.Source.Metadata.Config)
			}
			data = append(data, doc.Source.Metadata.Config...)
		}
		for _, secret := range []string{awsKey, dbPassword} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("the %s SBOM holds %q", f, secret)
			}
		}
		if f == CycloneDXJSON && !bytes.Contains(data, []byte("payments")) {
			t.Errorf("the CycloneDX SBOM lost the harmless label")
		}
	}
}
