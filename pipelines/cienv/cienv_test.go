package cienv

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDetectGitHubActions(t *testing.T) {
	got := Detect(context.Background(), t.TempDir(), envOf(map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_SERVER_URL":   "https://github.com",
		"GITHUB_REPOSITORY":   "acme/app",
		"GITHUB_SHA":          "abc123",
		"GITHUB_REF":          "refs/tags/v1.0.0",
		"GITHUB_REF_TYPE":     "tag",
		"GITHUB_REF_NAME":     "v1.0.0",
		"GITHUB_RUN_ID":       "42",
		"GITHUB_RUN_ATTEMPT":  "2",
		"GITHUB_WORKFLOW_REF": "acme/app/.github/workflows/release.yml@refs/tags/v1.0.0",
	}))
	want := Info{
		System:       GitHubActions,
		RepoURL:      "https://github.com/acme/app",
		Commit:       "abc123",
		Ref:          "refs/tags/v1.0.0",
		Tag:          "v1.0.0",
		RunURL:       "https://github.com/acme/app/actions/runs/42/attempts/2",
		InvocationID: "https://github.com/acme/app/actions/runs/42/attempts/2",
		BuilderID:    "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0",
		Workflow:     "acme/app/.github/workflows/release.yml@refs/tags/v1.0.0",
	}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestDetectGitLab(t *testing.T) {
	got := Detect(context.Background(), t.TempDir(), envOf(map[string]string{
		"GITLAB_CI":        "true",
		"CI_PROJECT_URL":   "https://gitlab.example.com/acme/app",
		"CI_COMMIT_SHA":    "def456",
		"CI_COMMIT_BRANCH": "main",
		"CI_JOB_URL":       "https://gitlab.example.com/acme/app/-/jobs/7",
		"CI_SERVER_URL":    "https://gitlab.example.com",
		"CI_RUNNER_ID":     "3",
	}))
	if got.System != GitLabCI || got.RepoURL != "https://gitlab.example.com/acme/app" || got.Commit != "def456" ||
		got.Ref != "refs/heads/main" || got.RunURL != "https://gitlab.example.com/acme/app/-/jobs/7" ||
		got.BuilderID != "https://gitlab.example.com/gitlab-runner/3" {
		t.Fatalf("got %+v", got)
	}
}

func TestDetectGit(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=a@b", "-c", "user.name=a"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	git("init", "-q")
	git("remote", "add", "origin", "https://user:ghp_secret@github.com/acme/app.git")
	git("commit", "-q", "--allow-empty", "-m", "x")
	git("tag", "v0.1.0")
	got := Detect(context.Background(), dir, envOf(nil))
	if got.System != Local || got.RepoURL != "https://github.com/acme/app" || len(got.Commit) != 40 || got.Tag != "v0.1.0" {
		t.Fatalf("got %+v", got)
	}
}

func TestCleanRepoURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:token@github.com/acme/app.git": "https://github.com/acme/app",
		"git@github.com:acme/app.git":                "https://github.com/acme/app",
		"ssh://git@gitlab.com:22/acme/app.git":       "https://gitlab.com/acme/app",
		"":                                           "",
	} {
		if got := CleanRepoURL(in); got != want {
			t.Errorf("CleanRepoURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSourceDateEpoch(t *testing.T) {
	got, ok, err := SourceDateEpoch(envOf(map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}))
	if err != nil || !ok || !got.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("%v %v %v", got, ok, err)
	}
	if _, ok, err := SourceDateEpoch(envOf(nil)); ok || err != nil {
		t.Fatal("unset SOURCE_DATE_EPOCH")
	}
	if _, _, err := SourceDateEpoch(envOf(map[string]string{"SOURCE_DATE_EPOCH": "-5"})); err == nil {
		t.Fatal("negative SOURCE_DATE_EPOCH accepted")
	}
}
