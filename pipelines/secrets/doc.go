// Package secrets finds credentials in source trees and image layers with
// the gitleaks v8 rule set, and reports where they are without ever
// holding on to what they are.
//
// A finding names its rule, file, line, layer and a fingerprint in
// gitleaks' format (path:rule:line), so a .gitleaksignore line and a
// sealyard allow-list entry are the same thing. The matched text, the
// secret and the line it sits on are dropped the moment gitleaks returns
// them: no report, log, error or attestation can carry them.
//
// In an image every layer is read, not only the files that survive in the
// final file system: a credential written in one layer and deleted (or
// overwritten) in a later one is still in the image for anyone who pulls
// it. Such findings say so (status deleted or shadowed).
package secrets
