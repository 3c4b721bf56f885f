package controlplane_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/e2e/kubetest/controlplane"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

func binaries(t testing.TB) controlplane.Binaries {
	t.Helper()
	b, err := controlplane.FindBinaries(os.Getenv)
	testenv.Require(t, err == nil, fmt.Sprintf("the test control plane (%v)", err), controlplane.BuildHint)
	return b
}

// TestDetachedStartAndStopDir is what `make cluster-up` and `make cluster-down` do:
// the control plane runs on after Start returns, and StopDir leaves no process and
// no file behind.
func TestDetachedStartAndStopDir(t *testing.T) {
	bins := binaries(t)
	dir := filepath.Join(t.TempDir(), "cluster")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var log bytes.Buffer
	cp, err := controlplane.Start(ctx, controlplane.WithBinaries(bins), controlplane.WithDir(dir),
		controlplane.WithNodes(1), controlplane.WithLog(&log), controlplane.Detached())
	t.Log(log.String())
	require.NoError(t, err)
	assert.Equal(t, []string{"kwok-node-0"}, cp.Nodes)
	assert.FileExists(t, cp.Kubeconfig)

	server, kubeconfig, ok := controlplane.Running(dir)
	require.True(t, ok)
	assert.Equal(t, cp.Server, server)
	assert.Equal(t, cp.Kubeconfig, kubeconfig)
	_, err = controlplane.Start(ctx, controlplane.WithBinaries(bins), controlplane.WithDir(dir))
	assert.ErrorContains(t, err, "is not empty", "a second cluster in the same directory")

	pids := pidsOf(t, dir)
	require.Len(t, pids, 5)
	require.NoError(t, controlplane.StopDir(dir))
	assert.NoDirExists(t, dir)
	for name, pid := range pids {
		assert.False(t, running(pid), "%s (pid %d) still runs", name, pid)
	}
	assert.Empty(t, processesIn(t, dir))
	_, _, ok = controlplane.Running(dir)
	assert.False(t, ok)
	assert.NoError(t, controlplane.StopDir(dir), "stopping twice is harmless")
}

// running reports whether pid runs. This test process started the components, so
// until it reaps them they stay as zombies, which do not run.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func pidsOf(t *testing.T, dir string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	var s struct{ PIDs map[string]int }
	require.NoError(t, json.Unmarshal(data, &s))
	return s.PIDs
}

func TestStartFailsCleanlyWhenAComponentCannotStart(t *testing.T) {
	bins := binaries(t)
	bins.Scheduler = "/bin/false" // exits at once
	dir := filepath.Join(t.TempDir(), "cluster")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	_, err := controlplane.Start(ctx, controlplane.WithBinaries(bins), controlplane.WithDir(dir), controlplane.WithNodes(1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kube-scheduler exited during start")
	_, _, ok := controlplane.Running(dir)
	assert.False(t, ok)
	assert.Empty(t, processesIn(t, dir), "nothing is left running")
}

// processesIn lists the running processes whose command line names dir.
func processesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !running(pid) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			out = append(out, string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return out
}

// BenchmarkStart measures a start with cached binaries, up to nodes Ready and the
// default service account present (the issue asks for under 30 s).
func BenchmarkStart(b *testing.B) {
	bins := binaries(b)
	for range b.N {
		cp, err := controlplane.Start(context.Background(), controlplane.WithBinaries(bins))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := cp.Stop(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
