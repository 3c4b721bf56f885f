package pin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/render"
)

const shop = "../../e2e/testdata/shop"

// shopInputs are the shop's manifests in each form a repository keeps them.
var shopInputs = []struct {
	name string
	spec render.Spec
	opts []render.Option
	// objects are the IDs expected, in order.
	objects []string
}{
	{"plain", render.Spec{Paths: []string{shop + "/k8s"}}, nil,
		[]string{"Deployment/shop", "Job/shop-migrate", "Secret/shop-db", "Service/shop"}},
	{"kustomize", render.Spec{Paths: []string{shop + "/kustomize"}}, []render.Option{render.WithRoot(shop)},
		[]string{"Secret/shop-db", "Service/shop", "Deployment/shop", "Job/shop-migrate"}},
	{"helm", render.Spec{Paths: []string{shop + "/chart"}, Values: []string{"database.url=postgresql://shop:shop@postgres:5432/shop"}}, nil,
		[]string{"Secret/shop-db", "Service/shop", "Deployment/shop", "Job/shop-migrate"}},
}

// renderShop renders and pins one form of the shop's manifests to what a push
// of docker.io/acme/shop returned.
func renderShop(t *testing.T, spec render.Spec, opts []render.Option) (*Result, []byte) {
	t.Helper()
	objs, err := render.Render(context.Background(), spec, opts...)
	require.NoError(t, err)
	res, err := Pin(objs, []Mapping{pushed(t, "index.docker.io/acme/shop@"+digest)})
	require.NoError(t, err)
	out, err := render.Encode(res.Objects)
	require.NoError(t, err)
	return res, out
}

func TestShopManifestsPin(t *testing.T) {
	t.Parallel()
	for _, in := range shopInputs {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			res, out := renderShop(t, in.spec, in.opts)
			var ids []string
			for _, o := range res.Objects {
				ids = append(ids, o.ID())
			}
			assert.Equal(t, in.objects, ids)
			require.Len(t, res.Changes, 2, "the web container and the migration")
			for _, c := range res.Changes {
				assert.Equal(t, "docker.io/acme/shop:latest", c.Image)
				assert.Equal(t, "docker.io/acme/shop@"+digest, c.New)
			}
			assert.NotContains(t, string(out), "acme/shop:latest")
		})
	}
}

// TestShopManifestsValidate checks the rendered, pinned manifests against the
// strict JSON schemas of the Kubernetes release the test cluster runs: an
// unknown or misplaced field fails.
func TestShopManifestsValidate(t *testing.T) {
	t.Parallel()
	bin, schemas := kubetest.Kubeconform(t)
	for _, in := range shopInputs {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			_, out := renderShop(t, in.spec, in.opts)
			file := filepath.Join(t.TempDir(), "shop.yaml")
			require.NoError(t, os.WriteFile(file, out, 0o644))
			cmd := exec.Command(bin, "-strict", "-summary", "-schema-location", schemas, file)
			got, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", got)
			assert.Contains(t, string(got), "Valid: 4, Invalid: 0, Errors: 0, Skipped: 0")
		})
	}
}

// TestShopManifestsDryRun has the test cluster's API server check the
// rendered, pinned manifests (kubectl apply --dry-run=server): admission,
// defaulting and validation as a real deploy meets them.
func TestShopManifestsDryRun(t *testing.T) {
	c := kubetest.Cluster(t)
	for _, in := range shopInputs {
		t.Run(in.name, func(t *testing.T) {
			ns := c.Namespace(t)
			_, out := renderShop(t, in.spec, in.opts)
			stdout, stderr, err := c.Kubectl(t, string(out), "apply", "--dry-run=server", "--server-side", "--field-manager=deploy-action", "-n", ns, "-f", "-")
			require.NoError(t, err, "%s%s", stdout, stderr)
			for _, want := range []string{"deployment.apps/shop serverside-applied (server dry run)", "service/shop", "job.batch/shop-migrate", "secret/shop-db"} {
				assert.Contains(t, stdout, want)
			}
			assert.Equal(t, 4, strings.Count(stdout, "(server dry run)"), stdout)
		})
	}
}
