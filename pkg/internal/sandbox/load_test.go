package sandbox_test

import (
	"context"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/internal/testimage"
	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
)

// TestLoadSurvivesConcurrentRuns loads one image in several runs at once
// while each removes its tag again: the runs of two jobs on one engine. The
// engine may delete the image between a load storing it and tagging it when
// another run removes its last tag then; every tag Load returns must still
// name the image.
func TestLoadSurvivesConcurrentRuns(t *testing.T) {
	t.Parallel()
	api := testenv.Engine(t)
	img := testimage.Image(t, v1.Config{}, testimage.Layer(t, testimage.File{Path: "id", Content: sandbox.NewRunID()}))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 15 {
				sb := sandbox.New(api, sandbox.NewRunID())
				ref, err := sb.Load(t.Context(), img)
				if assert.NoError(t, err) {
					_, err = sb.Inspect(t.Context(), ref)
					assert.NoError(t, err, "the tag Load returned names the image")
				}
				require.NoError(t, sb.Cleanup(context.Background()))
			}
		})
	}
	wg.Wait()
}
