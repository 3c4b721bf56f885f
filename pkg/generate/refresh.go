package generate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
)

// RefreshError is a pin that could not be refreshed: the repository and why.
type RefreshError struct {
	Repo string
	// RateLimited says GitHub refused for the rate limit; Reset is when it
	// lifts (zero when unknown).
	RateLimited bool
	Reset       time.Time
	NotFound    bool
	Err         error
}

func (e *RefreshError) Error() string {
	switch {
	case e.RateLimited:
		when := ""
		if !e.Reset.IsZero() {
			when = " until " + e.Reset.UTC().Format(time.RFC3339)
		}
		return fmt.Sprintf("--refresh-pins: GitHub's API rate limit is exhausted%s (at %s); set GITHUB_TOKEN to a token for a higher limit, or retry later", when, e.Repo)
	case e.NotFound:
		return fmt.Sprintf("--refresh-pins: %s: %v; check the repository name in the pins, or that it has a published release", e.Repo, e.Err)
	}
	return fmt.Sprintf("--refresh-pins: %s: %v", e.Repo, e.Err)
}

func (e *RefreshError) Unwrap() error { return e.Err }

// Resolver finds an action's newest release and the commit its tag points to.
type Resolver struct {
	client *github.Client
}

// NewResolver makes a Resolver on GitHub's API at baseURL ("" for
// api.github.com), authenticated with token when it is not empty.
func NewResolver(httpClient *http.Client, baseURL, token string) (*Resolver, error) {
	c := github.NewClient(httpClient)
	if token != "" {
		c = c.WithAuthToken(token)
	}
	if baseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(baseURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("GitHub API URL %q: %w", baseURL, err)
		}
		c.BaseURL = u
	}
	return &Resolver{client: c}, nil
}

// Latest resolves repo's newest release to a pin.
func (r *Resolver) Latest(ctx context.Context, repo string) (Pin, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return Pin{}, &RefreshError{Repo: repo, Err: errors.New("not an owner/name repository")}
	}
	rel, _, err := r.client.Repositories.GetLatestRelease(ctx, owner, name)
	if err != nil {
		return Pin{}, apiError(repo, "latest release", err)
	}
	tag := rel.GetTagName()
	ref, _, err := r.client.Git.GetRef(ctx, owner, name, "tags/"+tag)
	if err != nil {
		return Pin{}, apiError(repo, "tag "+tag, err)
	}
	obj := ref.GetObject()
	// An annotated tag points to a tag object; follow it (and any tag it
	// points to) to the commit.
	for i := 0; obj.GetType() == "tag"; i++ {
		if i == 5 {
			return Pin{}, &RefreshError{Repo: repo, Err: fmt.Errorf("tag %s: more than 5 nested tag objects", tag)}
		}
		t, _, err := r.client.Git.GetTag(ctx, owner, name, obj.GetSHA())
		if err != nil {
			return Pin{}, apiError(repo, "tag object of "+tag, err)
		}
		obj = t.GetObject()
	}
	if obj.GetType() != "commit" || !shaRe.MatchString(obj.GetSHA()) {
		return Pin{}, &RefreshError{Repo: repo, Err: fmt.Errorf("tag %s points to a %s, not a commit", tag, obj.GetType())}
	}
	return Pin{Repo: repo, Version: tag, SHA: obj.GetSHA()}, nil
}

func apiError(repo, what string, err error) error {
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var resp *github.ErrorResponse
	switch {
	case errors.As(err, &rl):
		return &RefreshError{Repo: repo, RateLimited: true, Reset: rl.Rate.Reset.Time, Err: err}
	case errors.As(err, &abuse):
		re := &RefreshError{Repo: repo, RateLimited: true, Err: err}
		if abuse.RetryAfter != nil {
			re.Reset = time.Now().Add(*abuse.RetryAfter)
		}
		return re
	case errors.As(err, &resp) && resp.Response != nil:
		switch resp.Response.StatusCode {
		case http.StatusTooManyRequests:
			return &RefreshError{Repo: repo, RateLimited: true, Err: err}
		case http.StatusNotFound:
			return &RefreshError{Repo: repo, NotFound: true, Err: fmt.Errorf("%s not found", what)}
		}
		return &RefreshError{Repo: repo, Err: fmt.Errorf("%s: GitHub answered %d %s", what, resp.Response.StatusCode, resp.Message)}
	}
	return &RefreshError{Repo: repo, Err: fmt.Errorf("%s: %w", what, err)}
}

// Refresh resolves the newest release of every pin in pins, in repository
// order, and returns the new table.
func (r *Resolver) Refresh(ctx context.Context, pins Pins) (Pins, error) {
	repos := make([]string, 0, len(pins))
	for k := range pins {
		repos = append(repos, k)
	}
	sort.Strings(repos)
	out := Pins{}
	for _, repo := range repos {
		p, err := r.Latest(ctx, repo)
		if err != nil {
			return nil, err
		}
		out[repo] = p
	}
	return out, nil
}
