// Package sbom inventories container images with the syft library and
// encodes the result as syft JSON, SPDX 2.3 JSON or CycloneDX 1.6 (JSON or
// XML).
//
// Generate catalogs an in-memory v1.Image (no daemon, no second pull): OS
// packages (dpkg, apk, rpm), Go binaries with their module versions and the
// function symbols compiled into them (which the scan stage uses for
// reachability), and every other ecosystem syft catalogs in images by
// default. Documents name the image by its manifest digest, and encoding is
// deterministic: the timestamps and document identifiers that syft would
// draw from the clock and a random source come from the image instead.
package sbom
