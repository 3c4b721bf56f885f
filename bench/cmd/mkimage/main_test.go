package main

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunWritesTheSameImageTwice(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	sa, err := run(a, 3, 3, 7, "bench:test")
	require.NoError(t, err)
	sb, err := run(b, 3, 3, 7, "bench:test")
	require.NoError(t, err)
	assert.Equal(t, sa.Digest, sb.Digest, "same flags, same image")
	assert.GreaterOrEqual(t, sa.Bytes, int64(3_000_000), "random data does not compress")

	other, err := run(t.TempDir(), 3, 3, 8, "bench:test")
	require.NoError(t, err)
	assert.NotEqual(t, sa.Digest, other.Digest, "another seed, another image")

	// The layout and the tarball hold that same image.
	p, err := layout.FromPath(filepath.Join(a, "layout"))
	require.NoError(t, err)
	idx, err := p.ImageIndex()
	require.NoError(t, err)
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, m.Manifests, 1)
	assert.Equal(t, sa.Digest, m.Manifests[0].Digest.String())

	img, err := tarball.ImageFromPath(filepath.Join(a, "image.tar"), nil)
	require.NoError(t, err)
	layers, err := img.Layers()
	require.NoError(t, err)
	assert.Len(t, layers, 3)
	li, err := p.Image(m.Manifests[0].Digest)
	require.NoError(t, err)
	want, err := li.ConfigName()
	require.NoError(t, err)
	got, err := img.ConfigName()
	require.NoError(t, err)
	assert.Equal(t, want, got, "docker load sees the same config, hence the same image ID")
}
