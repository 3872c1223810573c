// Package build makes container images without a Docker daemon: Go main
// packages compiled into static binaries (like ko) and directories copied
// in as layers, on top of any base image or scratch, for one platform or
// many (an image index).
//
// Builds are reproducible: layers have fixed ownership and timestamps, the
// image creation time is SOURCE_DATE_EPOCH (or the Unix epoch), and Go
// binaries are built with -trimpath, so the same inputs give the same digest
// in any directory.
package build
