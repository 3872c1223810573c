package main

import (
	"context"
	"os"

	sdk "dagger.io/dagger"

	"dagger/sealyard/internal/dagger"

	"github.com/sealyard/sealyard/pipelines/daggerbuild"
)

// session is one function call's link to the pipelines: a dagger.io/dagger
// client of the same engine session (pipelines/daggerbuild takes SDK
// objects), and a workspace in the module's working directory.
//
// The module's own types come from the generated bindings; objects cross
// to the SDK client and back by ID, which both sides share, so nothing here
// depends on the two packages declaring the same Go types.
type session struct {
	c  *sdk.Client
	ws *daggerbuild.Workspace
}

func open(ctx context.Context) (*session, error) {
	c, err := sdk.Connect(ctx, sdk.WithLogOutput(os.Stderr))
	if err != nil {
		return nil, err
	}
	ws, err := daggerbuild.NewWorkspace(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &session{c: c, ws: ws}, nil
}

func (s *session) close() { s.c.Close() }

func (s *session) container(ctx context.Context, c *dagger.Container) (*sdk.Container, error) {
	id, err := c.ID(ctx)
	if err != nil {
		return nil, err
	}
	return s.c.LoadContainerFromID(sdk.ContainerID(id)), nil
}

func (s *session) directory(ctx context.Context, d *dagger.Directory) (*sdk.Directory, error) {
	if d == nil {
		return nil, nil
	}
	id, err := d.ID(ctx)
	if err != nil {
		return nil, err
	}
	return s.c.LoadDirectoryFromID(sdk.DirectoryID(id)), nil
}

func (s *session) file(ctx context.Context, f *dagger.File) (*sdk.File, error) {
	if f == nil {
		return nil, nil
	}
	id, err := f.ID(ctx)
	if err != nil {
		return nil, err
	}
	return s.c.LoadFileFromID(sdk.FileID(id)), nil
}

// secret passes a secret by ID: its value stays in the engine until the
// pipelines read it, and is never logged.
func (s *session) secret(ctx context.Context, sec *dagger.Secret) (*sdk.Secret, error) {
	if sec == nil {
		return nil, nil
	}
	id, err := sec.ID(ctx)
	if err != nil {
		return nil, err
	}
	return s.c.LoadSecretFromID(sdk.SecretID(id)), nil
}

// The way back: SDK objects to the module's types, synced first so the
// files they point at in the workspace are captured before the call ends.

func toContainer(ctx context.Context, c *sdk.Container) (*dagger.Container, error) {
	c, err := c.Sync(ctx)
	if err != nil {
		return nil, err
	}
	id, err := c.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadContainerFromID(dagger.ContainerID(id)), nil
}

func toFile(ctx context.Context, f *sdk.File) (*dagger.File, error) {
	f, err := f.Sync(ctx)
	if err != nil {
		return nil, err
	}
	id, err := f.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadFileFromID(dagger.FileID(id)), nil
}

func toDirectory(ctx context.Context, d *sdk.Directory) (*dagger.Directory, error) {
	d, err := d.Sync(ctx)
	if err != nil {
		return nil, err
	}
	id, err := d.ID(ctx)
	if err != nil {
		return nil, err
	}
	return dag.LoadDirectoryFromID(dagger.DirectoryID(id)), nil
}

// signOptions turns the module's secrets into the pipelines' options.
func (s *session) signOptions(ctx context.Context, key, password *dagger.Secret, registryUser string, registryPassword *dagger.Secret, skipTlogUnsafe bool) (daggerbuild.SignOptions, error) {
	o := daggerbuild.SignOptions{RegistryUsername: registryUser, SkipTlogUnsafe: skipTlogUnsafe}
	var err error
	if o.Key, err = s.secret(ctx, key); err != nil {
		return o, err
	}
	if o.Password, err = s.secret(ctx, password); err != nil {
		return o, err
	}
	o.RegistryPassword, err = s.secret(ctx, registryPassword)
	return o, err
}

// gateInputs turns the module's optional gate inputs into the pipelines'.
func (s *session) gateInputs(ctx context.Context, policies *dagger.Directory, exceptions, vex *dagger.File, db *dagger.Directory, mode string) (daggerbuild.GateInputs, error) {
	in := daggerbuild.GateInputs{Mode: mode}
	var err error
	if in.Policies, err = s.directory(ctx, policies); err != nil {
		return in, err
	}
	if in.Exceptions, err = s.file(ctx, exceptions); err != nil {
		return in, err
	}
	if in.VEX, err = s.file(ctx, vex); err != nil {
		return in, err
	}
	in.DB, err = s.directory(ctx, db)
	return in, err
}
