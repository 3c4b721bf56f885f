package metadata_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/metadata"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

var (
	branchPush = metadata.Context{SHA: sha, Ref: "refs/heads/feature/Login_v2", EventName: "push", Repository: "shop/web", RunNumber: 42}
	mainPush   = metadata.Context{SHA: sha, Ref: "refs/heads/main", EventName: "push", Repository: "shop/web", RunNumber: 42, DefaultBranch: "main"}
	tagPush    = metadata.Context{SHA: sha, Ref: "refs/tags/v1.2.3", EventName: "push", Repository: "shop/web", RunNumber: 43}
	rcPush     = metadata.Context{SHA: sha, Ref: "refs/tags/v1.2.3-rc.1", EventName: "push", RunNumber: 44}
	zeroPush   = metadata.Context{SHA: sha, Ref: "refs/tags/0.4.1", EventName: "push", RunNumber: 45}
	buildPush  = metadata.Context{SHA: sha, Ref: "refs/tags/v2.0.0+linux.1", EventName: "push"}
	looseTag   = metadata.Context{SHA: sha, Ref: "refs/tags/release-2024", EventName: "push"}
	pr         = metadata.Context{SHA: sha, Ref: "refs/pull/7/merge", EventName: "pull_request", PRNumber: 7, RunNumber: 46}
	dispatch   = metadata.Context{SHA: sha, Ref: "refs/heads/main", EventName: "workflow_dispatch", RunNumber: 47}
	laptop     = metadata.Context{}
)

func TestTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		c        metadata.Context
		policies []string
		version  string
		explicit []string
		want     []string
		wantErr  string
	}{
		// Each policy on its own.
		{name: "version", c: mainPush, policies: []string{"version"}, version: "1.4.0", want: []string{"1.4.0"}},
		{name: "latest", c: laptop, policies: []string{"latest"}, want: []string{"latest"}},
		{name: "run", c: mainPush, policies: []string{"run"}, want: []string{"v42"}},
		{name: "sha", c: mainPush, policies: []string{"sha"}, want: []string{"sha-0123456"}},
		{name: "sha upper case", c: metadata.Context{SHA: strings.ToUpper(sha)}, policies: []string{"sha"}, want: []string{"sha-0123456"}},
		{name: "semver on a tag", c: tagPush, policies: []string{"semver"}, want: []string{"1", "1.2", "1.2.3"}},
		{name: "semver pre-release gives only itself", c: rcPush, policies: []string{"semver"}, want: []string{"1.2.3-rc.1"}},
		{name: "semver 0.y.z has no bare 0", c: zeroPush, policies: []string{"semver"}, want: []string{"0.4", "0.4.1"}},
		{name: "semver build metadata", c: buildPush, policies: []string{"semver", "sha"}, want: []string{"2.0.0_linux.1", "sha-0123456"}},
		{name: "semver on a branch gives nothing", c: mainPush, policies: []string{"semver", "sha"}, want: []string{"sha-0123456"}},
		{name: "semver on a loose tag gives nothing", c: looseTag, policies: []string{"semver", "sha"}, want: []string{"sha-0123456"}},
		{name: "branch sanitised", c: branchPush, policies: []string{"branch"}, want: []string{"feature-Login_v2"}},
		{name: "branch on a tag gives nothing", c: tagPush, policies: []string{"branch", "latest"}, want: []string{"latest"}},
		{name: "pr", c: pr, policies: []string{"pr"}, want: []string{"pr-7"}},
		{name: "pr on a push gives nothing", c: mainPush, policies: []string{"pr", "sha"}, want: []string{"sha-0123456"}},

		// auto in each context.
		{name: "auto, branch push", c: branchPush, policies: []string{"auto"}, want: []string{"feature-Login_v2", "sha-0123456"}},
		{name: "auto, tag push", c: tagPush, policies: []string{"auto"}, want: []string{"1", "1.2", "1.2.3", "sha-0123456"}},
		{name: "auto, pull request", c: pr, policies: []string{"auto"}, want: []string{"pr-7", "sha-0123456"}},
		{name: "auto, workflow_dispatch", c: dispatch, policies: []string{"auto"}, want: []string{"main", "sha-0123456"}},
		{name: "auto with a version", c: mainPush, policies: []string{"auto"}, version: "2.0.1", want: []string{"2.0.1", "main", "sha-0123456"}},
		{name: "auto on a laptop with a version", c: laptop, policies: []string{"auto"}, version: "dev", want: []string{"dev"}},

		// The seed: <namespace>/<name>:<version> plus latest.
		{name: "seed", c: mainPush, policies: []string{"version,latest"}, version: "1.0.0", want: []string{"1.0.0", "latest"}},
		{name: "list syntax, case, duplicates", c: tagPush, policies: []string{" Semver ,\nLATEST", "auto,sha", ""}, explicit: []string{"stable, latest"},
			want: []string{"1", "1.2", "1.2.3", "latest", "sha-0123456", "stable"}},
		{name: "explicit only", c: laptop, explicit: []string{"dev"}, want: []string{"dev"}},

		// Errors.
		{name: "unknown policy", c: mainPush, policies: []string{"sha", "foo"},
			wantErr: `input "tags": unknown tag policy "foo"; use one of auto, version, latest, run, sha, semver, branch, pr`},
		{name: "version without a version", c: mainPush, policies: []string{"version"}, wantErr: `tag policy "version" needs a version; set input "version"`},
		{name: "invalid version", c: mainPush, policies: []string{"version"}, version: "1.0 beta", wantErr: `input "version": "1.0 beta" is not a valid tag`},
		{name: "run without a run number", c: laptop, policies: []string{"run"}, wantErr: `tag policy "run" needs the workflow run number`},
		{name: "sha without a sha", c: laptop, policies: []string{"sha"}, wantErr: `tag policy "sha" needs the commit SHA`},
		{name: "sha not hex", c: metadata.Context{SHA: "not-a-sha"}, policies: []string{"sha"}, wantErr: `needs the commit SHA (GITHUB_SHA), and "not-a-sha" is none`},
		{name: "invalid explicit tag", c: mainPush, policies: []string{"sha"}, explicit: []string{"-bad"}, wantErr: `input "raw-tags": "-bad" is not a valid tag`},
		{name: "explicit tag too long", c: mainPush, explicit: []string{strings.Repeat("a", 129)}, wantErr: "is not a valid tag"},
		{name: "no tag at all", c: mainPush, policies: []string{"semver", "pr"}, wantErr: `input "tags": the policies semver, pr gave no tag for this push event on refs/heads/main; add "sha"`},
		{name: "no tag on a laptop", c: laptop, policies: []string{"auto"}, wantErr: `the policy "auto" gave no tag for a run outside GitHub Actions`},
		{name: "nothing asked", c: mainPush, wantErr: `input "tags" and input "raw-tags" are empty`},
		{name: "semver tag too long", c: metadata.Context{Ref: "refs/tags/v1.0.0-" + strings.Repeat("a", 130)}, policies: []string{"semver"}, wantErr: "shorten the pre-release"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := metadata.Tags(tc.c, tc.policies, tc.version, tc.explicit, inputs.Of)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, asInputs(err), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			for _, tag := range got {
				assert.True(t, metadata.ValidTag(tag), tag)
			}
		})
	}
}

// inputs names Tags' arguments as the action's inputs do.
var inputs = field.Map(map[string]string{metadata.FieldPolicies: `input "tags"`, metadata.FieldVersion: `input "version"`,
	metadata.FieldRawTags: `input "raw-tags"`})

// asInputs tells err as the action does: a field error opens with the input.
func asInputs(err error) string {
	var fe *field.Error
	if errors.As(err, &fe) {
		return inputs.Of(fe.Field) + ": " + fe.Err.Error()
	}
	return err.Error()
}

func TestTagsErrorsNameTheField(t *testing.T) {
	t.Parallel()
	_, err := metadata.Tags(metadata.Context{}, []string{"version"}, "", nil, nil)
	var fe *field.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, metadata.FieldPolicies, fe.Field)
	assert.EqualError(t, fe.Err, `tag policy "version" needs a version; set metadata.Tags.version, e.g. "1.4.0"`, "without names, the field is named as it is")
	_, err = metadata.Tags(metadata.Context{}, nil, "", []string{"-x"}, nil)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, metadata.FieldRawTags, fe.Field)
}

func TestSanitizeTag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"main":                   "main",
		"feature/login":          "feature-login",
		"Fix: café ☕":            "Fix--caf---",
		".hidden":                "hidden",
		"-.-x":                   "x",
		"/leading/slash":         "leading-slash",
		"":                       "",
		"...":                    "",
		"release/1.2":            "release-1.2",
		strings.Repeat("b", 200): strings.Repeat("b", 128),
	} {
		assert.Equal(t, want, metadata.SanitizeTag(in), "SanitizeTag(%q)", in)
	}
}

// FuzzSanitizeTag checks that a sanitised name is a valid tag or empty, and
// that sanitising is idempotent.
func FuzzSanitizeTag(f *testing.F) {
	for _, s := range []string{"main", "feature/x", "-.x", "é", strings.Repeat("z", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := metadata.SanitizeTag(s)
		if got != "" && !metadata.ValidTag(got) {
			t.Fatalf("SanitizeTag(%q) = %q, not a valid tag", s, got)
		}
		if again := metadata.SanitizeTag(got); again != got {
			t.Fatalf("SanitizeTag is not idempotent: %q -> %q -> %q", s, got, again)
		}
	})
}

// FuzzTagsFromRef checks that any git ref gives valid tags or an error, never
// a panic or an invalid tag, with every policy that reads the ref.
func FuzzTagsFromRef(f *testing.F) {
	for _, s := range []string{"refs/tags/v1.2.3", "refs/tags/v1.2.3-rc.1+b.2", "refs/heads/feat/x", "refs/pull/3/merge", "refs/tags/v01.2.3", "refs/tags/v1.2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		c := metadata.Context{SHA: sha, Ref: ref, EventName: "push"}
		tags, err := metadata.Tags(c, []string{"semver", "branch", "sha"}, "", nil, nil)
		if err != nil {
			return
		}
		for _, tag := range tags {
			if !metadata.ValidTag(tag) {
				t.Fatalf("ref %q gave invalid tag %q", ref, tag)
			}
		}
	})
}
