package sandbox_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/internal/testimage"
	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
)

// TestCleanupRemovesEverything creates one of each kind of object a run makes, volumes
// for the image's VOLUME included, and checks that Cleanup leaves none of them.
func TestCleanupRemovesEverything(t *testing.T) {
	t.Parallel()
	api := testenv.Engine(t)
	ctx := t.Context()

	img := testimage.Server(t)
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	cf = cf.DeepCopy()
	cf.Config.Volumes = map[string]struct{}{"/data": {}, "/cache": {}}
	img, err = mutate.ConfigFile(img, cf)
	require.NoError(t, err)

	run := sandbox.NewRunID()
	sb := sandbox.New(api, run)
	ref, err := sb.Load(ctx, img)
	require.NoError(t, err)
	network, err := sb.Network(ctx, "net")
	require.NoError(t, err)
	id, err := sb.Create(ctx, sandbox.Spec{Name: "app", Image: ref, Network: network, Aliases: []string{"app"},
		Publish: []sandbox.Publish{{Port: "8080"}}})
	require.NoError(t, err)
	require.NoError(t, sb.Start(ctx, id))
	addr, err := sb.HostAddr(ctx, id, "8080")
	require.NoError(t, err)
	assert.Regexp(t, `^127\.0\.0\.1:\d+$`, addr, "published on loopback only")

	st, err := sb.State(ctx, id)
	require.NoError(t, err)
	var volumes []string
	for _, m := range st.Mounts {
		volumes = append(volumes, m.Name)
	}
	assert.Len(t, volumes, 2, "each declared volume is a named volume of the run")

	pid1, err := sb.PID1(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "/server serve", pid1)

	committed, err := sb.Commit(ctx, id)
	require.NoError(t, err)
	child, err := sb.Create(ctx, sandbox.Spec{Name: "child", Image: committed, Cmd: []string{"exit", "0"}})
	require.NoError(t, err)
	require.NoError(t, sb.Start(ctx, child))
	code, err := sb.Wait(ctx, child)
	require.NoError(t, err)
	assert.Zero(t, code)

	left, err := sandbox.Leftovers(ctx, api, run)
	require.NoError(t, err)
	assert.Len(t, left, 9, "two containers, a network, two volumes each, two images: %v", left)

	// Cleanup works on a cancelled context: an interrupted run still cleans up.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.NoError(t, sb.Cleanup(cancelled))
	left, err = sandbox.Leftovers(context.Background(), api, run)
	require.NoError(t, err)
	assert.Empty(t, left)
	for _, v := range volumes {
		_, err := api.VolumeInspect(context.Background(), v, client.VolumeInspectOptions{})
		assert.Error(t, err, "volume %s is gone", v)
	}
}

func TestTail(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "c\nd", sandbox.Tail("a\nb\nc\nd\n", 2))
	assert.Equal(t, "a", sandbox.Tail("a", 5))
}
