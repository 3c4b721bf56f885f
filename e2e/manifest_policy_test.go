package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// firstReleasePassword is the database password the first release writes in
// plain text (e2e/testdata/first-release).
const firstReleasePassword = "Tr0ub4dor-and-3"

// firstRelease copies the first release's manifests to a temporary
// directory, applying edits (file name -> old -> new text).
func firstRelease(t *testing.T, edits map[string]map[string]string) string {
	t.Helper()
	dst := t.TempDir()
	require.NoError(t, os.CopyFS(dst, os.DirFS(filepath.Join(testenv.RepoRoot(t), "e2e", "testdata", "first-release"))))
	for file, repl := range edits {
		p := filepath.Join(dst, file)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		s := string(b)
		for old, new := range repl {
			require.Contains(t, s, old, "edit of %s", file)
			s = strings.Replace(s, old, new, 1)
		}
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	return dst
}

// TestManifestPolicyFirstRelease deploys a first release of the shop as a
// newcomer writes it. With the default policy the plain database password
// stops it before anything reaches the cluster, every other problem is named
// with its file and line, and the password shows nowhere. With the password
// moved to a Secret the release goes out, with the rest as warnings.
func TestManifestPolicyFirstRelease(t *testing.T) {
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()

	// Inside GitHub Actions, for the job summary.
	dir := firstRelease(t, nil)
	cmds := t.TempDir()
	summaryFile, outputFile := filepath.Join(cmds, "summary"), filepath.Join(cmds, "output")
	for _, f := range []string{summaryFile, outputFile} {
		require.NoError(t, os.WriteFile(f, nil, 0o644))
	}
	env := append(rolloutEnv(c), "GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY="+summaryFile, "GITHUB_OUTPUT="+outputFile)
	out, code := testenv.Run(t, env, "rollout", "--manifests", dir, "--namespace", ns)
	require.Equal(t, 1, code, out)
	app, db, prom := filepath.Join(dir, "app.yaml"), filepath.Join(dir, "postgres.yaml"), filepath.Join(dir, "prometheus.yaml")
	for _, want := range []string{
		"manifest policy: failed: 2 finding(s) that stop the deploy, 16 warning(s) in 7 object(s)",
		"fail secrets Deployment/shop (" + app + ":23): container shop: env DATABASE_URL holds a URL with a password",
		"fail secrets Deployment/postgres (" + db + ":24): container postgres: env POSTGRES_PASSWORD holds a secret",
		"warn migrations Deployment/shop (" + app + ":18): container shop runs migrations as it starts (\"migrate\"), in each of 4 replicas",
		"warn probes Deployment/shop (" + app + ":16): container shop has no readiness probe",
		"warn resources Deployment/shop (" + app + ":16): container shop sets no CPU request, memory request or memory limit",
		"warn latest Deployment/shop (" + app + ":17): container shop: image docker.io/acme/shop:latest is tagged latest",
		"warn restricted Deployment/shop (" + app + ":14): the pods break the Pod Security Standards' restricted level",
		"warn pdb Deployment/shop (" + app + ":6): Deployment runs 4 replicas and no PodDisruptionBudget covers them",
		"warn database-volume Deployment/postgres (" + db + ":17): container postgres runs postgres with no persistent volume",
		"warn latest Deployment/prometheus (" + prom + ":30): container prometheus: image prom/prometheus names no tag",
		"warn exposed-admin Service/prometheus (" + prom + ":51): Service of type LoadBalancer exposes port 9090 (Prometheus",
	} {
		assert.Contains(t, out, want)
	}
	assert.Regexp(t, `(?m)^::error::deploy: the manifests fail 2 policy check\(s\): .*; nothing was applied$`, out)
	assert.NotContains(t, out, firstReleasePassword)
	summary, err := os.ReadFile(summaryFile)
	require.NoError(t, err)
	assert.Contains(t, string(summary), "#### Manifest policy: failed: 2 finding(s) that stop the deploy, 16 warning(s) in 7 object(s)")
	assert.Contains(t, string(summary), "| ❌ fail | `secrets` | `Deployment/shop` | "+app+":23 | container shop: env DATABASE_URL holds a URL with a password")
	assert.Contains(t, string(summary), "| ⚠️ warn | `exposed-admin` | `Service/prometheus` | "+prom+":51 |")
	assert.NotContains(t, string(summary), firstReleasePassword)

	// Nothing reached the cluster.
	deps, err := c.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, deps.Items)
	svcs, err := c.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, svcs.Items)
	cms, err := c.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, cm := range cms.Items {
		assert.Equal(t, "kube-root-ca.crt", cm.Name, "only the one the cluster makes")
	}

	// The password moved to a Secret, made from the CI's secrets as the fix
	// says: the release goes out, warnings and all.
	_, err = c.Client.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-db"},
		StringData: map[string]string{"DATABASE_URL": "postgresql://shop:" + firstReleasePassword + "@postgres:5432/shop", "POSTGRES_PASSWORD": firstReleasePassword},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	fromSecret := func(key string) string {
		return "valueFrom:\n                secretKeyRef:\n                  name: shop-db\n                  key: " + key
	}
	dir = firstRelease(t, map[string]map[string]string{
		"app.yaml":      {"value: postgresql://shop:" + firstReleasePassword + "@postgres:5432/shop": fromSecret("DATABASE_URL")},
		"postgres.yaml": {"value: " + firstReleasePassword: fromSecret("POSTGRES_PASSWORD")},
	})
	out, code = testenv.Run(t, rolloutEnv(c), "rollout", "--manifests", dir, "--namespace", ns)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "manifest policy: passed with 16 warning(s) in 7 object(s)")
	// The summary, laid out for the terminal, heads its policy table the same way.
	assert.Contains(t, out, "\nManifest policy: passed with 16 warning(s) in 7 object(s)\n")
	assert.Contains(t, out, "warn migrations Deployment/shop ("+filepath.Join(dir, "app.yaml")+":18)")
	assert.NotContains(t, out, "fail secrets")
	assert.Equal(t, "succeeded", outputs(out)["verdict"])
	dep, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "shop", metav1.GetOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 4, dep.Status.ReadyReplicas)
}
