package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

func benchRun(b *testing.B) string {
	buf := make([]byte, 4)
	_, err := rand.Read(buf)
	require.NoError(b, err)
	return "imagetest-bench-" + hex.EncodeToString(buf)
}

// BenchmarkPolicyShop times the policy checks on the shop image with no daemon: the
// image is read from an OCI layout (as `deploy-action build --output` writes it), and
// every layer is read once for the user, secrets and entrypoint checks.
//
//	go test ./e2e -run '^$' -bench PolicyShop -benchtime 5x
func BenchmarkPolicyShop(b *testing.B) {
	ctx := context.Background()
	api, err := client.New(client.WithHost(testenv.DockerHost(b)))
	require.NoError(b, err)
	defer api.Close()
	im := buildImagetestImages(ctx, b, benchRun(b), false)
	loaded, err := dockerfile.Load(ctx, api, im.shop)
	require.NoError(b, err)
	defer loaded.Close()
	dir := filepath.Join(b.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	require.NoError(b, err)
	require.NoError(b, p.AppendImage(loaded))
	idx, err := p.ImageIndex()
	require.NoError(b, err)
	m, err := idx.IndexManifest()
	require.NoError(b, err)
	img, err := p.Image(m.Manifests[0].Digest)
	require.NoError(b, err)

	checker, err := policy.New(policy.Config{})
	require.NoError(b, err)
	var res *policy.Result
	b.ResetTimer()
	for b.Loop() {
		res, err = checker.Check(ctx, img)
		require.NoError(b, err)
	}
	b.StopTimer()
	require.False(b, res.Failed())
	b.ReportMetric(float64(res.Scanned), "files-scanned")
	b.ReportMetric(float64(res.Packaged), "files-packaged")
}

// BenchmarkSmokeShop times a full smoke run of the shop: PostgreSQL started and healthy,
// the shop started and ready, migrations and a catalogue read from inside the image, a
// graceful stop, and everything removed.
//
//	go test ./e2e -run '^$' -bench SmokeShop -benchtime 3x
func BenchmarkSmokeShop(b *testing.B) {
	ctx := context.Background()
	api, err := client.New(client.WithHost(testenv.DockerHost(b)))
	require.NoError(b, err)
	defer api.Close()
	im := buildImagetestImages(ctx, b, benchRun(b), false)
	runner, err := smoke.New(shopSmoke(im.postgres, "bench-password"), smoke.WithDockerClient(api))
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		res, err := runner.Run(ctx, nil, im.shop)
		require.NoError(b, err)
		require.False(b, res.Failed(), "%+v", res.Steps)
	}
}

// BenchmarkImageTestShop times the whole test stage on the shop: policy checks (from
// the image as BuildKit left it in the engine), structure tests and the smoke run.
//
//	go test ./e2e -run '^$' -bench ImageTestShop -benchtime 3x
func BenchmarkImageTestShop(b *testing.B) {
	ctx := context.Background()
	api, err := client.New(client.WithHost(testenv.DockerHost(b)))
	require.NoError(b, err)
	defer api.Close()
	im := buildImagetestImages(ctx, b, benchRun(b), false)
	loaded, err := dockerfile.Load(ctx, api, im.shop)
	require.NoError(b, err)
	defer loaded.Close()
	tester, err := imagetest.New(imagetest.Config{
		StructureTests: []string{filepath.Join("testdata", "imagetest", "shop.yaml")},
		Smoke:          shopSmoke(im.postgres, "bench-password"),
		SmokeMode:      imagetest.SmokeOn,
	}, imagetest.WithDockerClient(api))
	require.NoError(b, err)
	defer tester.Close()
	b.ResetTimer()
	for b.Loop() {
		rep, err := tester.Test(ctx, loaded, im.shop)
		require.NoError(b, err)
		require.False(b, rep.Failed(), rep.Text())
	}
}
