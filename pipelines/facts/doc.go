// Package facts holds the plain documents stages hand each other: the
// findings report the scan stage writes and the gate, reports and
// attestations read, and the package summary of an SBOM. It imports no
// scanner, so the packages that read these documents link none.
package facts
