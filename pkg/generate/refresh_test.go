package generate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testToken = "ghp_0123456789abcdefTOKENtoken"

// fakeGitHub answers like GitHub's REST API for a few repositories: the
// latest release, the tag's ref (lightweight or annotated), the tag object.
type fakeGitHub struct {
	mu    sync.Mutex
	paths []string
	auth  []string
	// releases maps owner/name to its latest tag; absent answers 404.
	releases map[string]string
	// refs maps owner/name@tag to the ref's object: "commit:<sha>" or "tag:<sha>".
	refs map[string]string
	// tags maps a tag object's SHA to the object it points to.
	tags map[string]string
	// limit answers every request with this status as a rate limit (403 or 429).
	limit int
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if f.limit != 0 {
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", fmt.Sprint(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix()))
		w.WriteHeader(f.limit)
		fmt.Fprint(w, `{"message":"API rate limit exceeded for 203.0.113.1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/repos/"), "/")
	notFound := func() {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`)
	}
	if len(parts) < 4 {
		notFound()
		return
	}
	repo := parts[0] + "/" + parts[1]
	rest := strings.Join(parts[2:], "/")
	obj := func(spec string) map[string]string {
		typ, sha, _ := strings.Cut(spec, ":")
		return map[string]string{"type": typ, "sha": sha, "url": "https://api.github.com/x"}
	}
	switch {
	case rest == "releases/latest":
		tag, ok := f.releases[repo]
		if !ok {
			notFound()
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"tag_name": tag, "name": tag})
	case strings.HasPrefix(rest, "git/ref/tags/"):
		spec, ok := f.refs[repo+"@"+strings.TrimPrefix(rest, "git/ref/tags/")]
		if !ok {
			notFound()
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ref": "refs/" + strings.TrimPrefix(rest, "git/ref/"), "object": obj(spec)})
	case strings.HasPrefix(rest, "git/tags/"):
		sha := strings.TrimPrefix(rest, "git/tags/")
		spec, ok := f.tags[sha]
		if !ok {
			notFound()
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"sha": sha, "tag": "v", "object": obj(spec)})
	default:
		notFound()
	}
}

func sha(c byte) string { return strings.Repeat(string(c), 40) }

func newFake() *fakeGitHub {
	return &fakeGitHub{
		releases: map[string]string{"actions/checkout": "v8.0.0", "acme/annotated": "v2.1.0", "acme/nested": "v3.0.0"},
		refs: map[string]string{
			"actions/checkout@v8.0.0": "commit:" + sha('a'),
			"acme/annotated@v2.1.0":   "tag:" + sha('b'),
			"acme/nested@v3.0.0":      "tag:" + sha('c'),
		},
		tags: map[string]string{sha('b'): "commit:" + sha('d'), sha('c'): "tag:" + sha('e'), sha('e'): "commit:" + sha('f')},
	}
}

func TestResolverLatest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, repo string
		want       Pin
		paths      []string
	}{
		{"lightweight tag", "actions/checkout", Pin{"actions/checkout", "v8.0.0", sha('a')},
			[]string{"GET /repos/actions/checkout/releases/latest", "GET /repos/actions/checkout/git/ref/tags/v8.0.0"}},
		{"annotated tag dereferenced", "acme/annotated", Pin{"acme/annotated", "v2.1.0", sha('d')},
			[]string{"GET /repos/acme/annotated/releases/latest", "GET /repos/acme/annotated/git/ref/tags/v2.1.0", "GET /repos/acme/annotated/git/tags/" + sha('b')}},
		{"tag of a tag", "acme/nested", Pin{"acme/nested", "v3.0.0", sha('f')},
			[]string{"GET /repos/acme/nested/releases/latest", "GET /repos/acme/nested/git/ref/tags/v3.0.0", "GET /repos/acme/nested/git/tags/" + sha('c'), "GET /repos/acme/nested/git/tags/" + sha('e')}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			srv := httptest.NewServer(f)
			defer srv.Close()
			r, err := NewResolver(srv.Client(), srv.URL, testToken)
			require.NoError(t, err)
			got, err := r.Latest(context.Background(), tc.repo)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.paths, f.paths)
			for _, a := range f.auth {
				assert.Equal(t, "Bearer "+testToken, a)
			}
		})
	}
}

func TestResolverNoToken(t *testing.T) {
	t.Parallel()
	f := newFake()
	srv := httptest.NewServer(f)
	defer srv.Close()
	r, err := NewResolver(srv.Client(), srv.URL, "")
	require.NoError(t, err)
	_, err = r.Latest(context.Background(), "actions/checkout")
	require.NoError(t, err)
	for _, a := range f.auth {
		assert.Empty(t, a, "no Authorization header without a token")
	}
}

func TestResolverErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		limit int
		repo  string
		check func(t *testing.T, re *RefreshError)
	}{
		{"rate limit 403", http.StatusForbidden, "actions/checkout", func(t *testing.T, re *RefreshError) {
			assert.True(t, re.RateLimited)
			assert.Equal(t, 2030, re.Reset.Year())
			assert.Contains(t, re.Error(), "rate limit")
			assert.Contains(t, re.Error(), "GITHUB_TOKEN")
		}},
		{"rate limit 429", http.StatusTooManyRequests, "actions/checkout", func(t *testing.T, re *RefreshError) {
			assert.True(t, re.RateLimited)
			assert.Contains(t, re.Error(), "retry later")
		}},
		{"no release", 0, "acme/missing", func(t *testing.T, re *RefreshError) {
			assert.True(t, re.NotFound)
			assert.Contains(t, re.Error(), "acme/missing")
			assert.Contains(t, re.Error(), "latest release not found")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake()
			f.limit = tc.limit
			srv := httptest.NewServer(f)
			defer srv.Close()
			r, err := NewResolver(srv.Client(), srv.URL, testToken)
			require.NoError(t, err)
			_, err = r.Refresh(context.Background(), Pins{tc.repo: {Repo: tc.repo}})
			var re *RefreshError
			require.True(t, errors.As(err, &re), "%v", err)
			assert.Equal(t, tc.repo, re.Repo)
			assert.NotContains(t, err.Error(), testToken, "the token is never printed")
			tc.check(t, re)
		})
	}
}

// TestRefreshPins regenerates with --refresh-pins: the workflow uses the new
// commits and the config file records them.
func TestRefreshPins(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.releases[DefaultActionRepo] = "v1.1.0"
	f.refs[DefaultActionRepo+"@v1.1.0"] = "tag:" + sha('9')
	f.tags[sha('9')] = "commit:" + sha('8')
	for _, p := range DefaultPins() {
		if p.Repo != Checkout {
			f.releases[p.Repo] = "v9.9.9"
			f.refs[p.Repo+"@v9.9.9"] = "commit:" + sha('7')
		}
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	r, err := NewResolver(srv.Client(), srv.URL, testToken)
	require.NoError(t, err)
	res, err := Generate(context.Background(), shopRepo(t.TempDir()), nil, Overrides{}, WithActionPin(testPin), WithRefresh(r))
	require.NoError(t, err)
	var wf, cfg string
	for _, f := range res.Files {
		switch f.Path {
		case DefaultWorkflowPath:
			wf = string(f.Data)
		case ConfigPath:
			cfg = string(f.Data)
		}
	}
	assert.Contains(t, wf, "actions/checkout@"+sha('a')+" # v8.0.0")
	assert.Contains(t, wf, "actions/setup-python@"+sha('7')+" # v9.9.9")
	assert.Contains(t, wf, DefaultActionRepo+"@"+sha('8')+" # v1.1.0")
	assert.NotContains(t, wf, DefaultPins()[Checkout].SHA)
	assert.Contains(t, cfg, "sha: "+sha('a'))
	assert.Contains(t, cfg, "version: v1.1.0")

	// The recorded pins hold on the next run, without the API.
	lc, err := ReadConfig(strings.NewReader(cfg), ConfigPath)
	require.NoError(t, err)
	again, err := Generate(context.Background(), shopRepo(t.TempDir()), lc, Overrides{})
	require.NoError(t, err)
	for _, f := range again.Files {
		if f.Path == DefaultWorkflowPath {
			assert.Equal(t, wf, string(f.Data))
		}
	}
}
