package metadata

import (
	"encoding/json"
	"strconv"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"
)

// Context is what the tags and labels depend on in the CI run.
type Context struct {
	SHA           string // commit, 40 hex digits
	Ref           string // refs/heads/main, refs/tags/v1.2.3, refs/pull/7/merge
	EventName     string // push, pull_request, workflow_dispatch, ...
	Repository    string // owner/name
	ServerURL     string // https://github.com
	DefaultBranch string // from the event payload, when it says
	RunNumber     int64
	PRNumber      int // 0 unless the run is for a pull request
}

// FromGitHub reads the context of a GitHub Actions run, as given by
// githubactions.New(githubactions.WithGetenv(getenv)).Context().
func FromGitHub(gh *githubactions.GitHubContext) Context {
	if gh == nil {
		return Context{}
	}
	c := Context{
		SHA:        gh.SHA,
		Ref:        gh.Ref,
		EventName:  gh.EventName,
		Repository: gh.Repository,
		ServerURL:  gh.ServerURL,
		RunNumber:  gh.RunNumber,
	}
	if repo, ok := gh.Event["repository"].(map[string]any); ok {
		c.DefaultBranch, _ = repo["default_branch"].(string)
	}
	if pr, ok := gh.Event["pull_request"].(map[string]any); ok {
		c.PRNumber = number(pr["number"])
	}
	if c.PRNumber == 0 && strings.HasPrefix(gh.EventName, "pull_request") {
		c.PRNumber = number(gh.Event["number"])
	}
	if c.PRNumber == 0 {
		c.PRNumber = prFromRef(gh.Ref)
	}
	return c
}

// number reads a JSON number that encoding/json decoded into an any.
func number(v any) int {
	switch n := v.(type) {
	case float64:
		if n > 0 && n == float64(int(n)) {
			return int(n)
		}
	case json.Number:
		if i, err := strconv.Atoi(string(n)); err == nil && i > 0 {
			return i
		}
	}
	return 0
}

// prFromRef reads N from refs/pull/N/merge or refs/pull/N/head.
func prFromRef(ref string) int {
	rest, ok := strings.CutPrefix(ref, "refs/pull/")
	if !ok {
		return 0
	}
	n, _, _ := strings.Cut(rest, "/")
	i, err := strconv.Atoi(n)
	if err != nil || i <= 0 {
		return 0
	}
	return i
}

// branch is the branch a push ran on, or "".
func (c Context) branch() string {
	b, _ := strings.CutPrefix(c.Ref, "refs/heads/")
	if b == c.Ref {
		return ""
	}
	return b
}

// gitTag is the git tag a push ran on, or "".
func (c Context) gitTag() string {
	t, _ := strings.CutPrefix(c.Ref, "refs/tags/")
	if t == c.Ref {
		return ""
	}
	return t
}
