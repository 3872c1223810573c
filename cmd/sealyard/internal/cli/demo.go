package cli

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/spf13/cobra"

	"github.com/sealyard/sealyard/pipelines/build"
	"github.com/sealyard/sealyard/pipelines/cienv"
	"github.com/sealyard/sealyard/pipelines/image"
	"github.com/sealyard/sealyard/pipelines/publish"
	"github.com/sealyard/sealyard/pipelines/registry"
)

type demoFlags struct {
	source    string
	platforms string
}

func newDemoCmd(s *streams) *cobra.Command {
	f := &demoFlags{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the pipeline on the example app against an embedded registry",
		Long: `Run sealyard end to end on embedded defaults, with nothing to set up.

The demo starts a registry inside the process, builds the example application
for linux/amd64 and linux/arm64 without Docker, pushes the index by digest,
tags it, and checks the registry holds the digest that was computed locally.`,
		Example: "  make demo\n  sealyard demo --source ./examples/greeter",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd, s, f)
		},
	}
	cmd.Flags().StringVar(&f.source, "source", filepath.Join("examples", "greeter"), "the example Go program to build")
	cmd.Flags().StringVar(&f.platforms, "platform", "linux/amd64,linux/arm64", "platforms to build")
	return cmd
}

func runDemo(cmd *cobra.Command, s *streams, f *demoFlags) error {
	ctx := cmd.Context()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	host := l.Addr().String()
	s.logf("embedded registry listening on %s", host)

	reg, err := registry.New(registry.WithoutDockerConfig())
	if err != nil {
		return err
	}
	platforms, err := image.ParsePlatforms(f.platforms)
	if err != nil {
		return err
	}
	created, _, err := cienv.SourceDateEpoch(s.getenv)
	if err != nil {
		return err
	}
	opts := []build.Option{build.WithPlatforms(platforms...), build.WithSourceInfo(cienv.Detect(ctx, f.source, s.getenv))}
	if !created.IsZero() {
		opts = append(opts, build.WithCreated(created))
	}
	s.logf("building %s for %s", f.source, f.platforms)
	a, err := build.Build(ctx, []build.Source{build.GoPackage(f.source, ".")}, opts...)
	if err != nil {
		return err
	}
	dst := host + "/sealyard/greeter:demo"
	s.logf("pushing to %s", dst)
	pushed, err := publish.Push(ctx, a, dst, publish.WithRegistry(reg))
	if err != nil {
		return err
	}
	if _, err := publish.Tag(ctx, pushed, []string{"demo"}, publish.WithRegistry(reg)); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "%s@%s\n", dst, pushed.DigestStr())
	return nil
}
