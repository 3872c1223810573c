// Package image turns image references into go-containerregistry values and
// writes those values back out.
//
// A reference names where an image lives using the scheme words syft and grype
// use: oci-dir:PATH, oci-archive:PATH, docker-archive:PATH, docker:NAME,
// registry:REF, or a bare registry reference. Load returns a v1.Image or a
// v1.ImageIndex; Write stores one in any of the same places. Local archives are
// checked before use (path traversal, truncation, absurd sizes, missing blobs),
// and every write goes to a temporary location that is renamed into place only
// when complete.
package image
