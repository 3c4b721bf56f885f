package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
)

const shopSecret = "Sh0p-registry-p4ss-e2e"

// requireImage stops the test unless the engine has the image (the base images
// are made by hack/setup.sh from debootstrap, since none can be pulled).
func requireImage(t *testing.T, ref string) {
	t.Helper()
	testenv.DockerHost(t)
	docker := testenv.LookPath(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := exec.CommandContext(ctx, docker, "image", "inspect", "--format", "{{.Id}}", ref).Run()
	testenv.Require(t, err == nil, "the base image "+ref, "run `make setup` (hack/setup.sh), which makes it with debootstrap")
}

// githubEnv is the context a push to a tag in GitHub Actions gives, without
// GITHUB_ACTIONS itself: the CLI reads the same context on a laptop.
func githubEnv() []string {
	return []string{
		"GITHUB_REPOSITORY=acme/shop",
		"GITHUB_SERVER_URL=https://github.com",
		"GITHUB_SHA=4f2c9a1b7d3e5f60718293a4b5c6d7e8f9012345",
		"GITHUB_REF=refs/tags/v1.0.0",
		"GITHUB_EVENT_NAME=push",
		"GITHUB_RUN_NUMBER=12",
		"SOURCE_DATE_EPOCH=1767225600",
	}
}

type inspection struct {
	Digest   string            `json:"Digest"`
	RepoTags []string          `json:"RepoTags"`
	Labels   map[string]string `json:"Labels"`
}

func inspect(t *testing.T, rs *testenv.RegistryServer, ref string) inspection {
	t.Helper()
	out := testenv.Skopeo(t, append(append([]string{"inspect"}, rs.SkopeoFlags()...), "docker://"+ref)...)
	var in inspection
	require.NoError(t, json.Unmarshal(out, &in), string(out))
	return in
}

var (
	digestLine         = regexp.MustCompile(`(?m)^digest=(sha256:[0-9a-f]{64})$`)
	regexpDigestOutput = regexp.MustCompile(`digest<<\S+\n(sha256:[0-9a-f]{64})\n`)
)

// TestReleaseShop is the seed's release: the shop built through BuildKit in the
// engine, tagged <version> and latest, pushed to a plain registry and to one
// with TLS and htpasswd at once, and checked by an independent client.
func TestReleaseShop(t *testing.T) {
	requireImage(t, "debian:trixie-slim")
	plain := testenv.Registry(t)
	secure := testenv.Registry(t, testenv.WithTLS(), testenv.WithHtpasswd("shop", shopSecret))

	out, code := testenv.Run(t, githubEnv(), "run",
		"--stages", "build,push",
		"--context", "e2e/testdata/shop",
		"--images", plain.Repo("acme/shop")+","+secure.Repo("acme/shop"),
		"--version", "1.0.0",
		"--tags", "version,latest,semver",
		"--username", "shop", "--password", shopSecret, "--registry", secure.Host,
		"--registry-ca", secure.CAFile,
	)
	require.Equal(t, 0, code, out)
	assert.NotContains(t, out, shopSecret)
	m := digestLine.FindStringSubmatch(out)
	require.NotNil(t, m, "no digest= output line in:\n%s", out)
	digest := m[1]

	for _, rs := range []*testenv.RegistryServer{plain, secure} {
		for _, tag := range []string{"1.0.0", "latest", "1.0", "1"} {
			in := inspect(t, rs, rs.Repo("acme/shop")+":"+tag)
			assert.Equal(t, digest, in.Digest, "%s %s", rs.Host, tag)
			assert.Subset(t, in.RepoTags, []string{"1.0.0", "latest", "1.0", "1"})
			assert.Equal(t, "https://github.com/acme/shop", in.Labels["org.opencontainers.image.source"])
			assert.Equal(t, "4f2c9a1b7d3e5f60718293a4b5c6d7e8f9012345", in.Labels["org.opencontainers.image.revision"])
			assert.Equal(t, "1.0.0", in.Labels["org.opencontainers.image.version"])
			assert.Equal(t, "shop", in.Labels["org.opencontainers.image.title"])
			assert.Equal(t, "2026-01-01T00:00:00Z", in.Labels["org.opencontainers.image.created"])
		}
	}
}

// TestReleaseFailures drives the binary into each failure a user meets and
// checks the message names the cause and the fix, and that the password stays hidden.
func TestReleaseFailures(t *testing.T) {
	testenv.DockerHost(t)
	secure := testenv.Registry(t, testenv.WithTLS(), testenv.WithHtpasswd("shop", shopSecret))
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	require.NoError(t, os.MkdirAll(site, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(site, "index.html"), []byte("hi"), 0o644))
	broken := filepath.Join(dir, "broken")
	require.NoError(t, os.MkdirAll(broken, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "Dockerfile"),
		[]byte("FROM debian:trixie-slim\nRUN echo compiling the shop && echo 'error: no rule to make target' >&2 && exit 2\n"), 0o644))

	daemonless := []string{"run", "--stages", "build,push", "--base", "scratch", "--layers", site + ":/srv", "--tags", "latest"}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"wrong password",
			append(daemonless, "--images", secure.Repo("acme/shop"), "--username", "shop", "--password", shopSecret+"-wrong",
				"--registry-ca", secure.CAFile),
			[]string{"rejected the credentials", `"username"`}},
		{"no credentials",
			append(daemonless, "--images", secure.Repo("acme/shop"), "--registry-ca", secure.CAFile),
			[]string{secure.Host}},
		{"untrusted certificate",
			append(daemonless, "--images", secure.Repo("acme/shop"), "--username", "shop", "--password", shopSecret),
			[]string{"registry-ca"}},
		{"registry unreachable",
			append(daemonless, "--images", "127.0.0.1:1/acme/shop"),
			[]string{`registry "127.0.0.1:1" is unreachable`}},
		{"malformed image reference",
			append(daemonless, "--images", "docker.io/"),
			[]string{`input "images": "docker.io/"`, "<registry>/<namespace>/<name>"}},
		{"unknown tag policy",
			[]string{"run", "--stages", "build,push", "--base", "scratch", "--layers", site + ":/srv", "--images", secure.Repo("x"), "--tags", "nightly"},
			[]string{`unknown tag policy "nightly"`, "auto, version, latest"}},
		{"missing Dockerfile",
			[]string{"build", "--context", site},
			[]string{`input "dockerfile"`, "does not exist"}},
		{"build step fails",
			[]string{"build", "--context", broken},
			[]string{"exit", "no rule to make target"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := testenv.Run(t, nil, tc.args...)
			assert.NotEqual(t, 0, code, out)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			assert.NotContains(t, out, shopSecret)
			assert.False(t, strings.Contains(out, "panic"), out)
		})
	}
}
