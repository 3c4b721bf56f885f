package dockerfile

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
)

// benchImageSize is the size of the random file in the benchmark's image.
const benchImageSize = 150 << 20

// readForPush does what a push needs from an image: its digest, then every
// layer's compressed bytes once.
func readForPush(b *testing.B, img v1.Image) {
	b.Helper()
	_, err := img.Digest()
	require.NoError(b, err)
	layers, err := img.Layers()
	require.NoError(b, err)
	for _, l := range layers {
		rc, err := l.Compressed()
		require.NoError(b, err)
		_, err = io.Copy(io.Discard, rc)
		require.NoError(b, err)
		require.NoError(b, rc.Close())
	}
}

// BenchmarkReadBack compares Load with go-containerregistry's daemon.Image on
// the same ~150 MB image (one layer of random bytes on scratch), each read as
// a push reads it.
func BenchmarkReadBack(b *testing.B) {
	host, api := testEngine(b)
	dir := b.TempDir()
	data := make([]byte, benchImageSize)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(data)
	require.NoError(b, os.WriteFile(filepath.Join(dir, "random.bin"), data, 0o644))
	require.NoError(b, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY random.bin /\n"), 0o644))
	tag := "deploy-action-bench/readback:" + randomID(b)
	builder, err := New(Request{ContextDir: dir, Tag: tag}, WithHost(host), WithTempDir(b.TempDir()))
	require.NoError(b, err)
	defer builder.Close()
	img, err := builder.Build(context.Background())
	require.NoError(b, err)
	id := img.(*Image).ID()
	defer api.ImageRemove(context.Background(), id, client.ImageRemoveOptions{Force: true, PruneChildren: true}) //nolint:errcheck
	require.NoError(b, builder.Close())

	b.Run("Load", func(b *testing.B) {
		b.SetBytes(benchImageSize)
		tmp := b.TempDir()
		for b.Loop() {
			img, err := Load(context.Background(), api, id, WithTempDir(tmp))
			require.NoError(b, err)
			readForPush(b, img)
			require.NoError(b, img.Close())
		}
	})
	b.Run("daemon.Image", func(b *testing.B) {
		b.SetBytes(benchImageSize)
		ref, err := name.ParseReference(tag)
		require.NoError(b, err)
		for b.Loop() {
			img, err := daemon.Image(ref, daemon.WithClient(api), daemon.WithContext(context.Background()))
			require.NoError(b, err)
			readForPush(b, img)
		}
	})
}
