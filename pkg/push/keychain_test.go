package push_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/push"
)

func dockerConfigDir(t *testing.T, auths map[string][2]string) string {
	t.Helper()
	dir := t.TempDir()
	entries := map[string]map[string]string{}
	for reg, up := range auths {
		entries[reg] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(up[0] + ":" + up[1]))}
	}
	b, err := json.Marshal(map[string]any{"auths": entries})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600))
	return dir
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestKeychain(t *testing.T) {
	t.Parallel()
	cfgDir := dockerConfigDir(t, map[string][2]string{
		"registry.example:5000":       {"carol", "from-config"},
		"https://index.docker.io/v1/": {"hubuser", "hub-token"},
		"ghcr.io":                     {"dave", "ghcr-from-config"},
	})
	home := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".docker"), 0o700))
	require.NoError(t, os.Rename(filepath.Join(dockerConfigDir(t, map[string][2]string{"home.example": {"erin", "from-home"}}), "config.json"),
		filepath.Join(home, ".docker", "config.json")))

	tests := []struct {
		name      string
		env       map[string]string
		creds     []push.Credential
		repo      string
		wantUser  string
		wantPass  string
		anonymous bool
	}{
		{name: "explicit credentials",
			creds: []push.Credential{{Registry: "registry.example:5000", Username: "alice", Password: "pw"}},
			repo:  "registry.example:5000/app", wantUser: "alice", wantPass: "pw"},
		{name: "explicit credentials win over the Docker config",
			env:   map[string]string{"DOCKER_CONFIG": cfgDir},
			creds: []push.Credential{{Registry: "https://registry.example:5000/", Username: "alice", Password: "pw"}},
			repo:  "registry.example:5000/app", wantUser: "alice", wantPass: "pw"},
		{name: "docker.io credentials apply to Docker Hub",
			creds: []push.Credential{{Registry: "docker.io", Username: "bob", Password: "hub"}},
			repo:  "bob/shop", wantUser: "bob", wantPass: "hub"},
		{name: "credentials for another registry are not sent",
			creds: []push.Credential{{Registry: "quay.io", Username: "alice", Password: "pw"}},
			repo:  "registry.example:5000/app", anonymous: true},
		{name: "empty credentials are ignored",
			env:   map[string]string{"DOCKER_CONFIG": cfgDir},
			creds: []push.Credential{{Registry: "registry.example:5000"}},
			repo:  "registry.example:5000/app", wantUser: "carol", wantPass: "from-config"},
		{name: "Docker config from DOCKER_CONFIG",
			env:  map[string]string{"DOCKER_CONFIG": cfgDir, "HOME": home},
			repo: "registry.example:5000/app", wantUser: "carol", wantPass: "from-config"},
		{name: "Docker config, Docker Hub key",
			env:  map[string]string{"DOCKER_CONFIG": cfgDir},
			repo: "docker.io/acme/shop", wantUser: "hubuser", wantPass: "hub-token"},
		{name: "Docker config from HOME",
			env:  map[string]string{"HOME": home},
			repo: "home.example/app", wantUser: "erin", wantPass: "from-home"},
		{name: "Docker config wins over GITHUB_TOKEN",
			env:  map[string]string{"DOCKER_CONFIG": cfgDir, "GITHUB_TOKEN": "ghs_x", "GITHUB_ACTOR": "octocat"},
			repo: "ghcr.io/acme/shop", wantUser: "dave", wantPass: "ghcr-from-config"},
		{name: "GITHUB_TOKEN for ghcr.io",
			env:  map[string]string{"GITHUB_TOKEN": "ghs_x", "GITHUB_ACTOR": "octocat"},
			repo: "ghcr.io/acme/shop", wantUser: "octocat", wantPass: "ghs_x"},
		{name: "GITHUB_TOKEN without GITHUB_ACTOR",
			env:  map[string]string{"GITHUB_TOKEN": "ghs_x"},
			repo: "ghcr.io/acme/shop", wantUser: "x-access-token", wantPass: "ghs_x"},
		{name: "GITHUB_TOKEN is not sent elsewhere",
			env:  map[string]string{"GITHUB_TOKEN": "ghs_x", "GITHUB_ACTOR": "octocat"},
			repo: "docker.io/acme/shop", anonymous: true},
		{name: "nothing configured",
			env:  map[string]string{"HOME": t.TempDir()},
			repo: "docker.io/acme/shop", anonymous: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repo, err := name.NewRepository(tc.repo)
			require.NoError(t, err)
			auth, err := authn.Resolve(context.Background(), push.Keychain(env(tc.env), tc.creds...), repo)
			require.NoError(t, err)
			if tc.anonymous {
				assert.Equal(t, authn.Anonymous, auth)
				return
			}
			cfg, err := authn.Authorization(context.Background(), auth)
			require.NoError(t, err)
			assert.Equal(t, tc.wantUser, cfg.Username)
			assert.Equal(t, tc.wantPass, cfg.Password)
		})
	}
}

func TestKeychainErrors(t *testing.T) {
	t.Parallel()
	bad := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(bad, "config.json"), []byte("{not json"), 0o600))
	tests := []struct {
		name  string
		env   map[string]string
		creds []push.Credential
		want  string
	}{
		{name: "password missing",
			creds: []push.Credential{{Registry: "ghcr.io", Username: "alice"}},
			want:  push.FieldPassword + `: empty for user "alice" at ghcr.io`},
		{name: "registry missing",
			creds: []push.Credential{{Username: "alice", Password: "pw"}},
			want:  push.FieldRegistry + `: "" is not a registry host`},
		{name: "broken Docker config",
			env:  map[string]string{"DOCKER_CONFIG": bad},
			want: "reading the Docker config " + filepath.Join(bad, "config.json")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			repo, err := name.NewRepository("ghcr.io/acme/app")
			require.NoError(t, err)
			_, err = authn.Resolve(context.Background(), push.Keychain(env(tc.env), tc.creds...), repo)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestCredentialNeverPrintsItsPassword(t *testing.T) {
	t.Parallel()
	c := push.Credential{Registry: "ghcr.io", Username: "alice", Password: "hunter2-secret"}
	for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
		out := fmt.Sprintf(format, c)
		assert.NotContains(t, out, "hunter2-secret", format)
		assert.Contains(t, out, "alice", format)
	}
	out := fmt.Sprintf("%v", []push.Credential{c})
	assert.NotContains(t, out, "hunter2-secret")
}
