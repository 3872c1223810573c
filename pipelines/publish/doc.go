// Package publish pushes images and indexes to registries with
// go-containerregistry.
//
// Push uploads by digest and checks that the registry holds exactly the
// digest computed locally; Tag moves tags afterwards. Keeping the two apart
// lets a pipeline sign and attest a digest before any tag points at it.
package publish
