// Package repocheck holds the checks of the files users copy from this
// repository: the GitHub workflows (actionlint, with shellcheck), the
// composite action, and the GitLab CI template (against GitLab's CI
// schema). It has no code of its own, only tests.
package repocheck
