package manifestpolicy_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/render"
)

// TestShopPasses: the shop's own manifests, as plain YAML, as a
// kustomization and as its rendered Helm chart, fail no check; once its image
// is pinned, as a deploy pins what it pushes, the only warning left is the
// missing PodDisruptionBudget.
func TestShopPasses(t *testing.T) {
	t.Parallel()
	const shop = "../../e2e/testdata/shop/"
	for _, tc := range []struct {
		name string
		spec render.Spec
	}{
		{"yaml", render.Spec{Paths: []string{shop + "k8s"}}},
		{"kustomize", render.Spec{Paths: []string{shop + "kustomize"}}},
		{"helm", render.Spec{Paths: []string{shop + "chart"}, Namespace: "shop"}},
		{"helm with its Secret", render.Spec{Paths: []string{shop + "chart"}, Namespace: "shop", Values: []string{"database.url=postgresql://shop:pw@db/shop"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objs, err := render.Render(context.Background(), tc.spec, render.WithRoot(shop))
			require.NoError(t, err)
			c, err := manifestpolicy.New(manifestpolicy.Config{Namespace: "shop"})
			require.NoError(t, err)
			res, err := c.Check(context.Background(), objs)
			require.NoError(t, err)
			assert.False(t, res.Failed(), res.Text())

			pushed, err := pin.Pushed("docker.io/acme/shop@sha256:" + hex64)
			require.NoError(t, err)
			p, err := pin.Pin(objs, []pin.Mapping{pushed})
			require.NoError(t, err)
			res, err = c.Check(context.Background(), p.Objects)
			require.NoError(t, err)
			require.Len(t, res.Findings, 1, res.Text())
			assert.Equal(t, manifestpolicy.PDB, res.Findings[0].Check)
			assert.Equal(t, manifestpolicy.Warn, res.Findings[0].Mode)
		})
	}
}
