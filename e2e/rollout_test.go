package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// shopImage is the repository the shop's manifests name (e2e/testdata/shop/k8s).
const shopImage = "docker.io/acme/shop"

// digest returns a made-up digest of one repeated hex digit: the simulated
// nodes run any image, and a pinned reference needs one.
func digest(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }

// shopManifests copies the shop's manifests (plain YAML, kustomization or
// chart: sub is "k8s", "kustomize" or "chart") to a temporary directory,
// applying edits (file name -> old -> new text) to the copy, and returns the
// copy's path. The kustomization's base (../k8s) comes along.
func shopManifests(t *testing.T, sub string, edits map[string]map[string]string) string {
	t.Helper()
	src := filepath.Join(testenv.RepoRoot(t), "e2e", "testdata", "shop")
	dst := t.TempDir()
	for _, d := range []string{"k8s", "kustomize", "chart"} {
		require.NoError(t, os.CopyFS(filepath.Join(dst, d), os.DirFS(filepath.Join(src, d))))
	}
	for file, repl := range edits {
		p := filepath.Join(dst, sub, file)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		s := string(b)
		for old, new := range repl {
			require.Contains(t, s, old, "edit of %s", file)
			s = strings.ReplaceAll(s, old, new)
		}
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
	}
	return filepath.Join(dst, sub)
}

// rolloutEnv is the environment a run against the test cluster gets.
func rolloutEnv(c *kubetest.Env) []string {
	return append(githubEnv(), "KUBECONFIG="+c.Kubeconfig)
}

var outputLine = regexp.MustCompile(`(?m)^([a-z-]+)=(.*)$`)

// outputs reads the key=value outputs a terminal run prints.
func outputs(out string) map[string]string {
	m := map[string]string{}
	for _, l := range outputLine.FindAllStringSubmatch(out, -1) {
		m[l[1]] = l[2]
	}
	return m
}

// deployedImage is the image of the shop Deployment's container now.
func deployedImage(t *testing.T, c *kubetest.Env, ns string) string {
	t.Helper()
	d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "shop", metav1.GetOptions{})
	require.NoError(t, err)
	return d.Spec.Template.Spec.Containers[0].Image
}

// TestRolloutShop is the seed's release from end to end: the shop built
// through BuildKit, pushed to a real registry, and its manifests (Deployment,
// Service, migration Job) rendered, pinned to the pushed digest, applied and
// watched until every pod is Ready and the migration has completed.
func TestRolloutShop(t *testing.T) {
	requireImage(t, "debian:trixie-slim")
	c := rollouttest.Cluster(t)
	reg := testenv.Registry(t)
	repo := reg.Repo("acme/shop")
	ns := c.Namespace(t)
	manifests := shopManifests(t, "k8s", map[string]map[string]string{
		"deployment.yaml":  {shopImage + ":latest": repo + ":latest"},
		"job-migrate.yaml": {shopImage + ":latest": repo + ":latest"},
	})

	out, code := testenv.Run(t, rolloutEnv(c), "run", "--stages", "build,push,deploy",
		"--context", "e2e/testdata/shop", "--images", repo, "--version", "1.0.0", "--tags", "version,latest",
		"--manifests", manifests, "--namespace", ns)
	require.Equal(t, 0, code, out)
	o := outputs(out)
	d := digestLine.FindStringSubmatch(out)
	require.NotNil(t, d, out)
	assert.Equal(t, "succeeded", o["verdict"])
	assert.Equal(t, "false", o["rolled-back"])
	assert.Equal(t, "", o["cause"])
	assert.Contains(t, out, "Deployment "+ns+"/shop\nJob "+ns+"/shop-migrate")

	// What runs is what was pushed, by digest, in both workloads.
	assert.Equal(t, repo+"@"+d[1], deployedImage(t, c, ns))
	job, err := c.Client.BatchV1().Jobs(ns).Get(context.Background(), "shop-migrate", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, repo+"@"+d[1], job.Spec.Template.Spec.Containers[0].Image)
	// The watch takes SuccessCriteriaMet as done, which the Job controller
	// may set before it counts the pod in status.succeeded.
	done := false
	for _, cond := range job.Status.Conditions {
		if (cond.Type == "SuccessCriteriaMet" || cond.Type == "Complete") && cond.Status == "True" {
			done = true
		}
	}
	assert.True(t, done, "the migration Job completed: %+v", job.Status)
	dep, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "shop", metav1.GetOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, dep.Status.ReadyReplicas)
	assert.Regexp(t, `(?m)^deployment/shop\s+`+ns+`\s+`+regexp.QuoteMeta(repo+"@"+d[1])+`\s+2/2 available, 2 updated\s+[0-9.]+m?s\s+✅ rolled out$`, out)
	assert.Regexp(t, `(?m)^deploy\s+ok\s`, out)

	// A later job deploys what an earlier one pushed: its "refs" output is an
	// "image-map".
	require.Equal(t, repo+"@"+d[1], o["refs"])
	out, code = testenv.Run(t, rolloutEnv(c), "run", "--stages", "deploy", "--manifests", manifests, "--namespace", ns,
		"--image-map", o["refs"])
	require.Equal(t, 0, code, out)
	assert.Equal(t, "succeeded", outputs(out)["verdict"])
	assert.Regexp(t, `(?m)^\d+ objects unchanged \(-v lists them\)$`, out, "routine rows are counted")
	out, code = testenv.Run(t, rolloutEnv(c), "run", "--stages", "deploy", "--manifests", manifests, "--namespace", ns,
		"--image-map", o["refs"], "-v")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `(?m)^Deployment `+ns+`/shop\s+unchanged\s`, out, "-v lists them")
	assert.Equal(t, repo+"@"+d[1], deployedImage(t, c, ns))
}

// TestRolloutFailures deploys the shop's revision 1, then a revision 2 with each
// failure a release meets. The run names the cause, rolls back to revision 1,
// watches the restore to Ready, and exits non-zero; the next person finds the
// shop on its previous image.
func TestRolloutFailures(t *testing.T) {
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	kubelet := rollouttest.StartKubelet(t, c.Client)
	good := shopImage + "@" + digest('a')
	broken := func(b kubetest.Behaviour) []string {
		return []string{"--image-map", shopImage + "=example.com/" + string(b) + "@" + digest('b')}
	}
	for _, tc := range []struct {
		name  string
		edits map[string]map[string]string
		args  []string
		cause []string
	}{
		{name: "image pull", args: broken(kubetest.PullError),
			cause: []string{"ImagePull: ", `cannot pull image "example.com/pull-error@` + digest('b')}},
		{name: "crash loop", args: broken(kubetest.Crash),
			cause: []string{"CrashLoop: ", "exited with code 1"}},
		{name: "out of memory", args: broken(kubetest.OOM),
			cause: []string{"OOMKilled: ", "256Mi"}},
		{name: "never ready", args: append(broken(kubetest.Unready), "--rollout-grace", "2s"),
			cause: []string{"ReadinessProbe: ", "/readyz"}},
		{name: "unschedulable", args: []string{"--image-map", good},
			edits: map[string]map[string]string{"deployment.yaml": {"cpu: 100m": "cpu: \"64\""}},
			cause: []string{"Unschedulable: ", "Insufficient cpu"}},
		{name: "missing Secret", args: []string{"--image-map", good},
			edits: map[string]map[string]string{"deployment.yaml": {
				"name: shop-db\n":                   "name: shop-db-v2\n",
				"terminationGracePeriodSeconds: 30": "terminationGracePeriodSeconds: 30\n      nodeName: " + kubelet.Node,
			}},
			cause: []string{"ConfigError: ", `"shop-db-v2"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			base := []string{"rollout", "--namespace", ns}
			out, code := testenv.Run(t, rolloutEnv(c), append(base, "--manifests", shopManifests(t, "k8s", nil), "--image-map", good)...)
			require.Equal(t, 0, code, out)
			require.Equal(t, good, deployedImage(t, c, ns))

			out, code = testenv.Run(t, rolloutEnv(c), append(append(base, "--manifests", shopManifests(t, "k8s", tc.edits)), tc.args...)...)
			require.Equal(t, 1, code, out)
			o := outputs(out)
			assert.Equal(t, "failed", o["verdict"], out)
			assert.Equal(t, "true", o["rolled-back"], out)
			for _, s := range tc.cause {
				assert.Contains(t, o["cause"], s)
			}
			assert.Contains(t, out, "rolled back deployment/shop to revision 1, and the restore rolled out")
			assert.Contains(t, out, "kubectl -n "+ns+" ", "the commands to run next")
			assert.Regexp(t, "(?m)^error: deploy: .*rolled back deployment/shop to revision 1", out)

			// The shop runs revision 1 again, all of it.
			assert.Equal(t, good, deployedImage(t, c, ns))
			dep, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "shop", metav1.GetOptions{})
			require.NoError(t, err)
			assert.EqualValues(t, 2, dep.Status.ReadyReplicas)
		})
	}

	t.Run("rejected after the Deployment", func(t *testing.T) {
		// The finished migration Job of revision 1 is replaced, so the
		// server-side dry run cannot check the new one (it only notes the
		// replacement); the real apply is refused after the Deployment has
		// started revision 2. The Deployment goes back too, so that no
		// half-applied release is left running, and the message says all.
		t.Parallel()
		ns := c.Namespace(t)
		base := []string{"rollout", "--namespace", ns}
		out, code := testenv.Run(t, rolloutEnv(c), append(base, "--manifests", shopManifests(t, "k8s", nil), "--image-map", good)...)
		require.Equal(t, 0, code, out)
		out, code = testenv.Run(t, rolloutEnv(c), append(base, "--image-map", shopImage+"@"+digest('c'), "--manifests",
			shopManifests(t, "k8s", map[string]map[string]string{"job-migrate.yaml": {"backoffLimit: 2": "backoffLimit: -1"}}))...)
		require.Equal(t, 1, code, out)
		assert.Regexp(t, `(?m)^error: deploy: applying Job `+ns+`/shop-migrate \(.*job-migrate\.yaml:4\): the API server rejected it: .*spec.backoffLimit.*`+
			`left as applied: .*Deployment `+ns+`/shop \(configured\)\); rolled back deployment/shop to revision 1, and the restore rolled out$`, out)
		assert.Equal(t, good, deployedImage(t, c, ns))
	})

	t.Run("rollback off", func(t *testing.T) {
		t.Parallel()
		ns := c.Namespace(t)
		base := []string{"rollout", "--namespace", ns, "--manifests", shopManifests(t, "k8s", nil)}
		out, code := testenv.Run(t, rolloutEnv(c), append(base, "--image-map", good)...)
		require.Equal(t, 0, code, out)
		out, code = testenv.Run(t, rolloutEnv(c), append(append(base, "--rollback=false"), broken(kubetest.Crash)...)...)
		require.Equal(t, 1, code, out)
		assert.Equal(t, "false", outputs(out)["rolled-back"])
		assert.Contains(t, out, `input "rollback" is false, so the release was left as it is`)
		assert.Equal(t, "example.com/crash@"+digest('b'), deployedImage(t, c, ns))
	})

	t.Run("first deploy", func(t *testing.T) {
		t.Parallel()
		ns := c.Namespace(t)
		out, code := testenv.Run(t, rolloutEnv(c), append([]string{"rollout", "--namespace", ns,
			"--manifests", shopManifests(t, "k8s", nil)}, broken(kubetest.Crash)...)...)
		require.Equal(t, 1, code, out)
		assert.Equal(t, "false", outputs(out)["rolled-back"])
		assert.Contains(t, out, "first deploy, nothing to roll back to for deployment/shop")
	})
}
