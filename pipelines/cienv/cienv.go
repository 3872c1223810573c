package cienv

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// System names a CI system.
type System string

// The systems Detect recognises.
const (
	Local         System = "local"
	GitHubActions System = "github-actions"
	GitLabCI      System = "gitlab-ci"
)

// Info is what Detect found. Empty fields were not found.
type Info struct {
	// System is the CI system, or Local.
	System System `json:"system"`
	// RepoURL is the source repository, without credentials.
	RepoURL string `json:"repoURL,omitempty"`
	// Commit is the full commit hash being built.
	Commit string `json:"commit,omitempty"`
	// Ref is the git ref being built (refs/heads/main, refs/tags/v1.2.3).
	Ref string `json:"ref,omitempty"`
	// Tag is the version tag when the build is of a tag.
	Tag string `json:"tag,omitempty"`
	// RunURL links to the CI job or workflow run.
	RunURL string `json:"runURL,omitempty"`
	// BuilderID identifies the build platform for provenance.
	BuilderID string `json:"builderID,omitempty"`
	// Workflow names the workflow or pipeline definition.
	Workflow string `json:"workflow,omitempty"`
	// InvocationID identifies this run of the workflow.
	InvocationID string `json:"invocationID,omitempty"`
}

// Detect reads getenv (os.Getenv in production) and, for what the CI
// environment does not say, git in dir.
func Detect(ctx context.Context, dir string, getenv func(string) string) Info {
	var info Info
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		info = github(getenv)
	case getenv("GITLAB_CI") == "true":
		info = gitlab(getenv)
	default:
		info = Info{System: Local, BuilderID: "https://github.com/sealyard/sealyard/local"}
	}
	if info.RepoURL == "" || info.Commit == "" {
		g := fromGit(ctx, dir)
		if info.RepoURL == "" {
			info.RepoURL = g.RepoURL
		}
		if info.Commit == "" {
			info.Commit = g.Commit
			if info.Tag == "" {
				info.Tag = g.Tag
			}
			if info.Ref == "" {
				info.Ref = g.Ref
			}
		}
	}
	return info
}

func github(getenv func(string) string) Info {
	server := strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/")
	if server == "" {
		server = "https://github.com"
	}
	repo := getenv("GITHUB_REPOSITORY")
	info := Info{
		System:   GitHubActions,
		Commit:   getenv("GITHUB_SHA"),
		Ref:      getenv("GITHUB_REF"),
		Workflow: getenv("GITHUB_WORKFLOW_REF"),
	}
	if repo != "" {
		info.RepoURL = server + "/" + repo
		if id := getenv("GITHUB_RUN_ID"); id != "" {
			info.RunURL = info.RepoURL + "/actions/runs/" + id
			info.InvocationID = info.RunURL
			if a := getenv("GITHUB_RUN_ATTEMPT"); a != "" {
				info.RunURL += "/attempts/" + a
				info.InvocationID = info.RunURL
			}
		}
	}
	if getenv("GITHUB_REF_TYPE") == "tag" {
		info.Tag = getenv("GITHUB_REF_NAME")
	}
	if wf := info.Workflow; wf != "" {
		info.BuilderID = server + "/" + wf
	} else {
		info.BuilderID = server + "/actions/runner"
	}
	return info
}

func gitlab(getenv func(string) string) Info {
	info := Info{
		System:       GitLabCI,
		RepoURL:      getenv("CI_PROJECT_URL"),
		Commit:       getenv("CI_COMMIT_SHA"),
		Tag:          getenv("CI_COMMIT_TAG"),
		RunURL:       getenv("CI_JOB_URL"),
		InvocationID: getenv("CI_JOB_URL"),
		Workflow:     getenv("CI_CONFIG_PATH"),
	}
	if info.Tag != "" {
		info.Ref = "refs/tags/" + info.Tag
	} else if b := getenv("CI_COMMIT_BRANCH"); b != "" {
		info.Ref = "refs/heads/" + b
	} else if r := getenv("CI_COMMIT_REF_NAME"); r != "" {
		info.Ref = r
	}
	server := strings.TrimSuffix(getenv("CI_SERVER_URL"), "/")
	if server == "" {
		server = "https://gitlab.com"
	}
	info.BuilderID = server + "/gitlab-runner"
	if id := getenv("CI_RUNNER_ID"); id != "" {
		info.BuilderID += "/" + id
	}
	return info
}

func fromGit(ctx context.Context, dir string) Info {
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	var info Info
	info.Commit = run("rev-parse", "--verify", "-q", "HEAD")
	if info.Commit == "" {
		return info
	}
	info.RepoURL = CleanRepoURL(run("config", "--get", "remote.origin.url"))
	info.Tag = run("describe", "--tags", "--exact-match", "HEAD")
	if info.Tag != "" {
		info.Ref = "refs/tags/" + info.Tag
	} else {
		info.Ref = run("symbolic-ref", "-q", "HEAD")
	}
	return info
}

// CleanRepoURL removes credentials from a remote URL and turns scp-style
// remotes (git@host:owner/repo.git) into https URLs.
func CleanRepoURL(raw string) string {
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		// scp-like: [user@]host:path
		if at := strings.Index(raw, "@"); at >= 0 {
			raw = raw[at+1:]
		}
		host, p, ok := strings.Cut(raw, ":")
		if !ok {
			return ""
		}
		return "https://" + host + "/" + strings.TrimSuffix(strings.TrimPrefix(p, "/"), ".git")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	if u.Scheme == "ssh" || u.Scheme == "git" {
		u.Scheme = "https"
		u.Host = u.Hostname()
	}
	u.Path = strings.TrimSuffix(u.Path, ".git")
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// SourceDateEpoch reads SOURCE_DATE_EPOCH from getenv. ok is false when it
// is unset; a value that is not a non-negative integer is an error.
func SourceDateEpoch(getenv func(string) string) (t time.Time, ok bool, err error) {
	v := getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, false, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a non-negative integer number of seconds", v)
	}
	return time.Unix(n, 0).UTC(), true, nil
}
