package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// lockedBuffer is a process's output, read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRolloutCancelled is a cancelled job as GitHub runs it: the CLI gets
// SIGINT while it watches a release that does not become ready, and the
// runner kills it about 10 s later. It stops the watch, rolls back what it
// applied on a fresh bounded context, says what is left, and exits non-zero
// within that grace period; the shop runs its previous revision again.
func TestRolloutCancelled(t *testing.T) {
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	good := shopImage + "@" + digest('a')
	ns := c.Namespace(t)
	base := []string{"rollout", "--namespace", ns}
	out, code := testenv.Run(t, rolloutEnv(c), append(base, "--manifests", shopManifests(t, "k8s", nil), "--image-map", good)...)
	require.Equal(t, 0, code, out)

	cmd := exec.Command(testenv.Binary(t), append(base, "--manifests", shopManifests(t, "k8s", nil),
		"--image-map", shopImage+"=example.com/"+string(kubetest.Unready)+"@"+digest('b'),
		"--rollout-grace", "5m", "--rollout-timeout", "10m")...)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, rolloutEnv(c)...)
	var log lockedBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Wait until the watch runs: the apply is done and the pods are followed.
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(log.String(), "deployment/shop: ") {
		select {
		case err := <-exited:
			t.Fatalf("the deploy ended before it was interrupted (%v):\n%s", err, log.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("the watch never started:\n%s", log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))

	// The runner's grace: SIGTERM 7.5 s after SIGINT, a kill 2.5 s later.
	var err error
	select {
	case err = <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("still running 10 s after SIGINT, when the runner kills it:\n%s", log.String())
	}
	out = log.String()
	t.Log(out)
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "exits non-zero: %v", err)
	assert.NotZero(t, ee.ExitCode())
	assert.Equal(t, "interrupted", outputs(out)["verdict"])
	assert.Contains(t, out, "deploy interrupted")
	assert.Contains(t, out, "rolled back deployment/shop to revision 1")
	// The migration Job of the new release cannot be rolled back: named, with
	// the command that stops it.
	assert.Contains(t, out, "left: Job "+ns+"/shop-migrate (a Job cannot be rolled back; to stop it: kubectl -n "+ns+" delete job shop-migrate)")
	assert.Equal(t, good, deployedImage(t, c, ns), "the shop runs its previous revision")
}

// TestRefusedReleaseCostsNoBuild: the server-side dry run of the whole
// release runs before the build, with the image to be pushed pinned to a
// placeholder digest: a release the API server refuses (here an unknown
// field, refused by strict validation) fails before anything is built or
// pushed, and the tags do not move.
func TestRefusedReleaseCostsNoBuild(t *testing.T) {
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	// Nothing listens there: a push would fail loudly, not silently succeed.
	repo := "127.0.0.1:1/acme/shop"
	manifests := shopManifests(t, "k8s", map[string]map[string]string{
		"deployment.yaml":  {shopImage + ":latest": repo + ":latest", "  replicas: 2\n": "  replicas: 2\n  replicaz: 3\n"},
		"job-migrate.yaml": {shopImage + ":latest": repo + ":latest"},
	})
	site := t.TempDir()
	require.NoError(t, os.WriteFile(site+"/index.html", []byte("shop"), 0o644))
	out, code := testenv.Run(t, rolloutEnv(c), "run", "--stages", "build,push,deploy",
		"--base", "scratch", "--layers", site+":/srv", "--images", repo, "--version", "1.0.0",
		"--manifests", manifests, "--namespace", ns)
	require.Equal(t, 1, code, out)
	assert.Contains(t, out, "replicaz", "the API server's reason")
	assert.NotContains(t, out, "build done", "nothing was built")
	assert.NotContains(t, out, "pushing", "nothing was pushed")
}
