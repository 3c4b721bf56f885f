package metadata_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	githubactions "github.com/sethvargo/go-githubactions"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/metadata"
)

// githubContext builds a GitHubContext the way the action does, from an
// environment and an event payload file.
func githubContext(t *testing.T, env map[string]string, event string) *githubactions.GitHubContext {
	t.Helper()
	if event != "" {
		p := filepath.Join(t.TempDir(), "event.json")
		require.NoError(t, os.WriteFile(p, []byte(event), 0o600))
		env["GITHUB_EVENT_PATH"] = p
	}
	gh, err := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] })).Context()
	require.NoError(t, err)
	return gh
}

func TestFromGitHub(t *testing.T) {
	t.Parallel()
	base := func() map[string]string {
		return map[string]string{
			"GITHUB_SHA": sha, "GITHUB_REPOSITORY": "shop/web", "GITHUB_RUN_NUMBER": "42",
			"GITHUB_SERVER_URL": "https://github.example.com",
		}
	}
	with := func(kv ...string) map[string]string {
		env := base()
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name  string
		env   map[string]string
		event string
		want  metadata.Context
	}{
		{
			name:  "push to a branch",
			env:   with("GITHUB_EVENT_NAME", "push", "GITHUB_REF", "refs/heads/main"),
			event: `{"ref":"refs/heads/main","repository":{"default_branch":"main"}}`,
			want: metadata.Context{SHA: sha, Ref: "refs/heads/main", EventName: "push", Repository: "shop/web",
				ServerURL: "https://github.example.com", DefaultBranch: "main", RunNumber: 42},
		},
		{
			name:  "pull request, number from the payload",
			env:   with("GITHUB_EVENT_NAME", "pull_request", "GITHUB_REF", "refs/pull/12/merge"),
			event: `{"number":12,"pull_request":{"number":12},"repository":{"default_branch":"trunk"}}`,
			want: metadata.Context{SHA: sha, Ref: "refs/pull/12/merge", EventName: "pull_request", Repository: "shop/web",
				ServerURL: "https://github.example.com", DefaultBranch: "trunk", RunNumber: 42, PRNumber: 12},
		},
		{
			name: "pull request without a payload, number from the ref",
			env:  with("GITHUB_EVENT_NAME", "pull_request", "GITHUB_REF", "refs/pull/9/merge"),
			want: metadata.Context{SHA: sha, Ref: "refs/pull/9/merge", EventName: "pull_request", Repository: "shop/web",
				ServerURL: "https://github.example.com", RunNumber: 42, PRNumber: 9},
		},
		{
			name:  "workflow_dispatch",
			env:   with("GITHUB_EVENT_NAME", "workflow_dispatch", "GITHUB_REF", "refs/heads/main"),
			event: `{"inputs":{},"repository":{"default_branch":"main"}}`,
			want: metadata.Context{SHA: sha, Ref: "refs/heads/main", EventName: "workflow_dispatch", Repository: "shop/web",
				ServerURL: "https://github.example.com", DefaultBranch: "main", RunNumber: 42},
		},
		{
			name: "outside GitHub Actions",
			env:  map[string]string{},
			want: metadata.Context{ServerURL: "https://github.com"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, metadata.FromGitHub(githubContext(t, tc.env, tc.event)))
		})
	}
	assert.Equal(t, metadata.Context{}, metadata.FromGitHub(nil))
}

func TestLabels(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name           string
		c              metadata.Context
		title, version string
		created        time.Time
		want           map[string]string
	}{
		{
			name: "everything", c: metadata.Context{SHA: sha, Repository: "shop/web", ServerURL: "https://github.com/"},
			title: "Shop", version: "1.2.3", created: created,
			want: map[string]string{
				"org.opencontainers.image.source":   "https://github.com/shop/web",
				"org.opencontainers.image.revision": sha,
				"org.opencontainers.image.created":  "2026-03-04T04:06:07Z",
				"org.opencontainers.image.version":  "1.2.3",
				"org.opencontainers.image.title":    "Shop",
			},
		},
		{
			name: "title from the repository, default server", c: metadata.Context{Repository: "shop/web"},
			want: map[string]string{
				"org.opencontainers.image.source": "https://github.com/shop/web",
				"org.opencontainers.image.title":  "web",
			},
		},
		{name: "nothing known", want: map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, metadata.Labels(tc.c, tc.title, tc.version, tc.created))
		})
	}
}

func TestAnnotate(t *testing.T) {
	t.Parallel()
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.Config.Labels = map[string]string{"keep": "1", "org.opencontainers.image.version": "old"}
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)

	out, err := metadata.Annotate(img,
		map[string]string{"org.opencontainers.image.version": "1.2.3", "team": "shop"},
		map[string]string{"org.opencontainers.image.revision": sha})
	require.NoError(t, err)

	ocf, err := out.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"keep": "1", "org.opencontainers.image.version": "1.2.3", "team": "shop"}, ocf.Config.Labels)
	m, err := out.Manifest()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"org.opencontainers.image.revision": sha}, m.Annotations)

	// The input is left alone and the layers are the same.
	icf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "old", icf.Config.Labels["org.opencontainers.image.version"])
	assert.Equal(t, layerDigests(t, img), layerDigests(t, out))

	same, err := metadata.Annotate(img, nil, nil)
	require.NoError(t, err)
	assert.Same(t, img, same)
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	ls, err := img.Layers()
	require.NoError(t, err)
	var out []v1.Hash
	for _, l := range ls {
		d, err := l.Digest()
		require.NoError(t, err)
		out = append(out, d)
	}
	return out
}
