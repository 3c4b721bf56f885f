package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/apply"
)

// addManifest writes one more manifest file into a copy of the manifests.
func addManifest(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

const shopConfig = `apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  LOG_LEVEL: INFO
  WORKERS: "2"
`

// TestRolloutRollsBackTheWholeRelease: release 2 of the shop changes its
// ConfigMap, adds a Service and a ConfigMap, and crashes. The rollback puts
// the whole release back, not only the Deployment: the ConfigMap has its
// release-1 data again, the two new objects are gone, and the rollback table
// lists every object of the release with what was done to it.
func TestRolloutRollsBackTheWholeRelease(t *testing.T) {
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	good := shopImage + "@" + digest('a')
	base := []string{"rollout", "--namespace", ns}

	r1 := shopManifests(t, "k8s", nil)
	addManifest(t, r1, "config.yaml", shopConfig)
	out, code := testenv.Run(t, rolloutEnv(c), append(base, "--manifests", r1, "--image-map", good)...)
	require.Equal(t, 0, code, out)

	r2 := shopManifests(t, "k8s", nil)
	addManifest(t, r2, "config.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-config
data:
  LOG_LEVEL: DEBUG
  FEATURE_CHECKOUT_V2: "on"
`)
	addManifest(t, r2, "feature.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: shop-checkout-v2
data:
  PROVIDER: new
---
apiVersion: v1
kind: Service
metadata:
  name: shop-admin
spec:
  selector:
    app.kubernetes.io/name: shop
  ports:
    - port: 8080
`)
	out, code = testenv.Run(t, rolloutEnv(c), append(base, "--manifests", r2,
		"--image-map", shopImage+"=example.com/"+string(kubetest.Crash)+"@"+digest('b'))...)
	require.Equal(t, 1, code, out)
	assert.Equal(t, "true", outputs(out)["rolled-back"], out)
	assert.Contains(t, out, "rolled back deployment/shop to revision 1, and the restore rolled out")

	cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "shop-config", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"LOG_LEVEL": "INFO", "WORKERS": "2"}, cm.Data, "release 1's data, and only it")
	_, err = c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "shop-checkout-v2", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the new ConfigMap is deleted: %v", err)
	_, err = c.Client.CoreV1().Services(ns).Get(ctx, "shop-admin", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the new Service is deleted: %v", err)
	assert.Equal(t, good, deployedImage(t, c, ns))

	// One row per object of the release.
	for _, row := range []string{
		`Secret ` + ns + `/shop-db\s+unchanged\s`,
		`ConfigMap ` + ns + `/shop-checkout-v2\s+deleted\s`,
		`ConfigMap ` + ns + `/shop-config\s+restored\s`,
		`Service ` + ns + `/shop\s+unchanged\s`,
		`Service ` + ns + `/shop-admin\s+deleted\s`,
		`Deployment ` + ns + `/shop\s+restored\s+2 → 1\s`,
		`Job ` + ns + `/shop-migrate\s+skipped\s`,
	} {
		assert.Regexp(t, `(?m)^`+row, out)
	}
	assert.Contains(t, out, "restored ConfigMap "+ns+"/shop-config")
	assert.Contains(t, out, "deleted Service "+ns+"/shop-admin")
}

// TestRolloutPrune: release 1 has the ConfigMaps keep and gone, release 2
// only keep. With prune the ConfigMap gone is deleted; objects of the same
// name or kind that the release's ApplySet does not own are left alone;
// without prune (the default) gone stays; a dry run says what would go.
func TestRolloutPrune(t *testing.T) {
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	other := c.Namespace(t)
	ctx := context.Background()
	configMap := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n  K: v\n"
	}
	r1, r2 := t.TempDir(), t.TempDir()
	addManifest(t, r1, "keep.yaml", configMap("keep"))
	addManifest(t, r1, "gone.yaml", configMap("gone"))
	addManifest(t, r2, "keep.yaml", configMap("keep"))
	run := func(dir string, args ...string) string {
		t.Helper()
		out, code := testenv.Run(t, rolloutEnv(c), append([]string{"rollout", "--namespace", ns, "--manifests", dir}, args...)...)
		require.Equal(t, 0, code, out)
		return out
	}
	gone := func(ns string) bool {
		_, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "gone", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true
		}
		require.NoError(t, err)
		return false
	}

	run(r1, "--prune")
	parent, err := c.Client.CoreV1().Secrets(ns).Get(ctx, apply.DefaultApplySet, metav1.GetOptions{})
	require.NoError(t, err, "the ApplySet's parent")
	id := apply.ApplySetID(apply.DefaultApplySet, ns)
	assert.Equal(t, id, parent.Labels[apply.ApplySetIDLabel])
	assert.Equal(t, "ConfigMap", parent.Annotations[apply.ApplySetKindsAnnotation])
	cm, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "gone", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, id, cm.Labels[apply.ApplySetPartOfLabel])

	// What the ApplySet does not own: a ConfigMap made by hand, one of
	// another set, and one named gone in another namespace.
	for _, o := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "by-hand", Namespace: ns}},
		{ObjectMeta: metav1.ObjectMeta{Name: "other-set", Namespace: ns, Labels: map[string]string{apply.ApplySetPartOfLabel: apply.ApplySetID("other", ns)}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "gone", Namespace: other}},
	} {
		_, err := c.Client.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		require.NoError(t, err)
	}

	out := run(r2)
	assert.False(t, gone(ns), "prune is off by default: %s", out)

	out = run(r2, "--prune", "--dry-run")
	assert.Regexp(t, `(?m)^ConfigMap `+ns+`/gone\s+pruned\s`, out)
	assert.Contains(t, out, "Would be pruned")
	assert.False(t, gone(ns), "a dry run deletes nothing")

	out = run(r2, "--prune")
	assert.Regexp(t, `(?m)^ConfigMap `+ns+`/gone\s+pruned\s`, out)
	assert.True(t, gone(ns), out)
	for _, name := range []string{"keep", "by-hand", "other-set"} {
		_, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		assert.NoError(t, err, "%s is left alone", name)
	}
	assert.False(t, gone(other), "the ConfigMap gone of another namespace is left alone")
}
