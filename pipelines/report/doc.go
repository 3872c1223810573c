// Package report renders the findings and the decision for the places
// users read them: SARIF 2.1.0 for GitHub code scanning, GitLab's container
// and dependency scanning reports, a Markdown summary for a job page, and
// GitHub Actions workflow commands (annotations, step outputs).
//
// Reports are deterministic: the same findings and decision give the same
// bytes, except for the scan times GitLab requires.
package report
