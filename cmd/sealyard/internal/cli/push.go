package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/publish"
)

type pushFlags struct {
	platforms string
	tags      []string
	reg       registryFlags
}

func newPushCmd(s *streams) *cobra.Command {
	f := &pushFlags{}
	cmd := &cobra.Command{
		Use:   "push SRC DST",
		Short: "Push an image or index to a registry, by digest, then tag it",
		Long: `Push SRC (any image reference) to the registry repository DST.

The image is uploaded by digest, the registry is asked for that digest back,
and only then is the tag in DST (and each --tag) moved. The pushed reference
is printed as REPOSITORY[:TAG]@DIGEST: a tag is never reported without its
digest.

Credentials come from --username with --password-stdin, --password-file or
SEALYARD_REGISTRY_PASSWORD; from GITHUB_TOKEN (ghcr.io) or the GitLab job
token ($CI_REGISTRY); or from the Docker config. TLS is verified; plain HTTP is
only used for loopback registries and the hosts named by --allow-http-registry.`,
		Example: `  sealyard push oci-dir:out registry.example.com/team/app:v1
  echo "$TOKEN" | sealyard push docker:app:dev ghcr.io/org/app:v1 --username bot --password-stdin
  sealyard push docker-archive:app.tar 127.0.0.1:5000/app:v1 --ca-file ca.pem --tag latest`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPush(cmd, s, f, args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&f.platforms, "platform", "", "push only these platforms of an index (comma-separated)")
	cmd.Flags().StringArrayVar(&f.tags, "tag", nil, "also tag the pushed digest with this tag (repeatable)")
	f.reg.register(cmd)
	return cmd
}

func runPush(cmd *cobra.Command, s *streams, f *pushFlags, src, dst string) error {
	ctx := cmd.Context()
	dstRef, err := publish.Destination(dst, nil)
	if err != nil {
		return err
	}
	reg, err := f.reg.client(s, dstRef.Context().RegistryStr())
	if err != nil {
		return err
	}
	platforms, err := image.ParsePlatforms(f.platforms)
	if err != nil {
		return err
	}
	s.logf("loading %s", src)
	loaded, err := image.Load(ctx, src, image.WithRegistry(reg), image.WithPlatforms(platforms...))
	if err != nil {
		return err
	}
	defer loaded.Close()
	s.logf("pushing to %s", dstRef.Context())
	pushed, err := publish.Push(ctx, loaded.Artifact, dst, publish.WithRegistry(reg))
	if err != nil {
		return err
	}
	tags := append(publish.TagsOf(dstRef), f.tags...)
	moved, err := publish.Tag(ctx, pushed, tags, publish.WithRegistry(reg))
	for _, t := range moved {
		fmt.Fprintf(s.out, "%s@%s\n", t.String(), pushed.DigestStr())
	}
	if err != nil {
		return fmt.Errorf("pushed %s, but: %w", pushed, err)
	}
	if len(moved) == 0 {
		fmt.Fprintln(s.out, pushed.String())
	}
	return nil
}
