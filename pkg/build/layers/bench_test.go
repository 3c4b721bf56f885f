package layers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/build/layers"
)

// benchBuild builds a scratch image from src, digest included, b.N times.
func benchBuild(b *testing.B, dir string, size int64) {
	b.Helper()
	bl, err := layers.New(layers.Spec{Base: "scratch", Layers: []layers.Layer{{Source: "src", Target: "/app"}}},
		layers.WithDir(dir), layers.WithSourceDateEpoch(time.Unix(1, 0)))
	require.NoError(b, err)
	b.SetBytes(size)
	start := cpuTime(b)
	n := 0
	for b.Loop() {
		img, err := bl.Build(context.Background())
		require.NoError(b, err)
		_, err = img.Digest()
		require.NoError(b, err)
		n++
	}
	// CPU time, unlike wall time, holds still on a machine shared with other work.
	b.ReportMetric(float64((cpuTime(b)-start).Milliseconds())/float64(n), "cpu-ms/op")
}

// cpuTime is the user and system time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBuildBinary adds one Go binary (this test binary, ~20 MB), the
// daemonless backend's main use.
func BenchmarkBuildBinary(b *testing.B) {
	exe, err := os.Executable()
	require.NoError(b, err)
	data, err := os.ReadFile(exe)
	require.NoError(b, err)
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "src"), data, 0o755))
	benchBuild(b, dir, int64(len(data)))
}

// BenchmarkBuildTree adds 2,000 small files in 20 directories (a static site
// or a Python package tree).
func BenchmarkBuildTree(b *testing.B) {
	dir := b.TempDir()
	var size int64
	for d := range 20 {
		sub := filepath.Join(dir, "src", fmt.Sprintf("pkg%02d", d))
		require.NoError(b, os.MkdirAll(sub, 0o755))
		for f := range 100 {
			body := []byte(fmt.Sprintf("# module %d/%d\n%s", d, f, make([]byte, 1024)))
			require.NoError(b, os.WriteFile(filepath.Join(sub, fmt.Sprintf("m%03d.py", f)), body, 0o644))
			size += int64(len(body))
		}
	}
	benchBuild(b, dir, size)
}
