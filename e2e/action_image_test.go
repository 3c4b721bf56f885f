package e2e

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
)

// TestActionDockerfile builds the repository's own Dockerfile, the one
// action.yml runs, through BuildKit, on a local stand-in of its golang image
// (hack/standin-bases.sh: no registry is reached here), and runs the action
// image: the static binary on scratch answers, as root, with the version it
// was built with.
func TestActionDockerfile(t *testing.T) {
	base := standins(t, "golang")
	host := testenv.DockerHost(t)
	tag := "deploy-action-e2e/action:" + randomHex(t, 4)
	var log strings.Builder
	b, err := dockerfile.New(dockerfile.Request{
		ContextDir: testenv.RepoRoot(t),
		Target:     "action",
		Tag:        tag,
		BuildArgs:  map[string]string{"BUILD_IMAGE": base["golang"], "VERSION": "e2e-1.2.3", "COMMIT": "abc1234"},
	}, dockerfile.WithHost(host), dockerfile.WithProgress(&log))
	require.NoError(t, err)
	defer b.Close()
	// A cold build compiles the whole binary and its modules in the container
	// (BuildKit's cache mounts keep them for the next build on the engine).
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
	defer cancel()
	start := time.Now()
	img, err := b.Build(ctx)
	t.Logf("build of the action image (%s):\n%s", time.Since(start).Round(100*time.Millisecond), tail(log.String(), 40))
	require.NoError(t, err)
	t.Cleanup(func() {
		rm := exec.Command(debianDocker, "image", "rm", tag)
		rm.Env = append(os.Environ(), "DOCKER_HOST="+host)
		_ = rm.Run()
	})

	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{"/usr/local/bin/deploy-action"}, cf.Config.Entrypoint)
	assert.Equal(t, "0:0", cf.Config.User, "a Docker action runs as root (the workspace and file commands are the runner's)")
	layers, err := img.Layers()
	require.NoError(t, err)
	assert.Len(t, layers, 3, "scratch + the CA bundle, the binary and /tmp: no toolchain in the image")

	rctx, rcancel := context.WithTimeout(t.Context(), time.Minute)
	defer rcancel()
	run := exec.CommandContext(rctx, debianDocker, "run", "--rm", tag, "version")
	run.Env = append(os.Environ(), "DOCKER_HOST="+host)
	out, err := run.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "deploy-action e2e-1.2.3 (commit abc1234)\n", string(out))
}
