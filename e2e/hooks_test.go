package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// jobWhenDeploymentChanges watches Deployment name in ns and, the moment its
// pod template first names image (created or changed), reads Job job. The
// returned function gives the Job as it was then: proof by the cluster's own
// order of events, not by timing, that a hook ran before the release. Call it
// after the deploy; nil means the Deployment never changed.
func jobWhenDeploymentChanges(t *testing.T, c *kubetest.Env, ns, name, image, job string) func() *batchv1.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	list, err := c.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
	require.NoError(t, err)
	w, err := c.Client.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	type read struct {
		job *batchv1.Job
		err error
	}
	got := make(chan read, 1)
	go func() {
		defer close(got)
		defer w.Stop()
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || len(d.Spec.Template.Spec.Containers) == 0 || d.Spec.Template.Spec.Containers[0].Image != image {
				continue
			}
			j, err := c.Client.BatchV1().Jobs(ns).Get(ctx, job, metav1.GetOptions{})
			got <- read{j, err}
			return
		}
	}()
	return func() *batchv1.Job {
		select {
		case r := <-got:
			require.NoError(t, r.err, "reading Job %s when Deployment %s changed", job, name)
			return r.job
		case <-ctx.Done():
			return nil
		}
	}
}

// jobDoneAt is when the Job's success was recorded (SuccessCriteriaMet or
// Complete, whichever came first); zero when it has not succeeded.
func jobDoneAt(j *batchv1.Job) time.Time {
	var at time.Time
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobSuccessCriteriaMet) && c.Status == corev1.ConditionTrue {
			if at.IsZero() || c.LastTransitionTime.Time.Before(at) {
				at = c.LastTransitionTime.Time
			}
		}
	}
	return at
}

// replicaSetOf is the ReplicaSet of Deployment name whose template runs image.
func replicaSetOf(t *testing.T, c *kubetest.Env, ns, name, image string) *appsv1.ReplicaSet {
	t.Helper()
	l, err := c.Client.AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	for i, rs := range l.Items {
		owner := metav1.GetControllerOf(&rs)
		if owner != nil && owner.Name == name && rs.Spec.Template.Spec.Containers[0].Image == image {
			return &l.Items[i]
		}
	}
	return nil
}

// TestHelmPreUpgradeHook deploys a chart whose migration is a
// pre-install,pre-upgrade hook Job, as helm runs it: on a first release the
// pre-install hooks run, on an upgrade the pre-upgrade ones, each to
// completion before the Deployment changes; the previous release's Job is
// deleted first (before-hook-creation), a hook-succeeded hook is deleted once
// the hooks are done, the post hooks run after the rollout, and a test hook
// never runs. A failing pre-upgrade hook
// fails the release with its cause and leaves the Deployment as it was.
func TestHelmPreUpgradeHook(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	chart := filepath.Join(testenv.RepoRoot(t), "e2e", "testdata", "hooks-chart")
	deploy := func(d string, args ...string) (string, int) {
		return testenv.Run(t, rolloutEnv(c), append([]string{"rollout", "--manifests", chart, "--namespace", ns,
			"--helm-release", "shop", "--image-map", shopImage + "@" + d}, args...)...)
	}
	row := func(phase, object, applied, result string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^` + phase + `\s+` + regexp.QuoteMeta(object) + `\s+` + regexp.QuoteMeta(applied) + `\s+` + result)
	}

	// A first release: the pre-install hooks.
	v1 := shopImage + "@" + digest('a')
	migrated := jobWhenDeploymentChanges(t, c, ns, "shop", v1, "shop-migrate")
	out, code := deploy(digest('a'))
	require.Equal(t, 0, code, out)
	assert.Equal(t, "succeeded", outputs(out)["verdict"], out)
	assert.Regexp(t, row("pre-install", "Job "+ns+"/shop-migrate", "created", "✅ completed in"), out)
	assert.NotContains(t, out, "shop-migrate-settings", "a pre-upgrade hook does not run on install")
	released := row("post-install", "Job "+ns+"/shop-released", "created", `✅ completed in \S+ \(deleted: hook-succeeded\)`)
	assert.Regexp(t, released, out, "the post-install hook ran after the rollout, and was deleted")
	first := migrated()
	require.NotNil(t, first, "the Deployment was created")
	assert.True(t, jobSucceeded(first), "the migration Job had completed when the Deployment was created: %+v", first.Status)
	_, err := c.Client.CoreV1().Pods(ns).Get(ctx, "shop-smoke", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "a test hook is no part of a release: %v", err)

	// An upgrade: the pre-upgrade hooks, by weight (the settings, then the
	// migration), the migration completed before the Deployment changes.
	v2 := shopImage + "@" + digest('b')
	migrated = jobWhenDeploymentChanges(t, c, ns, "shop", v2, "shop-migrate")
	out, code = deploy(digest('b'))
	require.Equal(t, 0, code, out)
	assert.Equal(t, "succeeded", outputs(out)["verdict"], out)
	job := migrated()
	require.NotNil(t, job, "the Deployment changed")
	assert.NotEqual(t, first.UID, job.UID, "the first release's Job was deleted and this release's created (before-hook-creation)")
	assert.Equal(t, v2, job.Spec.Template.Spec.Containers[0].Image)
	assert.True(t, jobSucceeded(job), "the migration Job had completed when the Deployment changed: %+v", job.Status)
	rs := replicaSetOf(t, c, ns, "shop", v2)
	require.NotNil(t, rs, "the Deployment's new ReplicaSet")
	assert.False(t, rs.CreationTimestamp.Time.Before(jobDoneAt(job)),
		"the new ReplicaSet (%s) is not older than the migration's completion (%s)", rs.CreationTimestamp, jobDoneAt(job))
	settings := row("pre-upgrade", "ConfigMap "+ns+"/shop-migrate-settings", "created", `✅ applied \(deleted: hook-succeeded\)`)
	migration := row("pre-upgrade", "Job "+ns+"/shop-migrate", "created (the previous one deleted first)", "✅ completed in")
	assert.Regexp(t, settings, out)
	assert.Regexp(t, migration, out)
	if s, m := settings.FindStringIndex(out), migration.FindStringIndex(out); s != nil && m != nil {
		assert.Less(t, s[0], m[0], "the lighter hook runs first")
	}
	_, err = c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "shop-migrate-settings", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the hook-succeeded hook is deleted: %v", err)
	assert.Regexp(t, row("post-upgrade", "Job "+ns+"/shop-released", "created", `✅ completed in`), out)
	_, err = c.Client.BatchV1().Jobs(ns).Get(ctx, "shop-released", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the hook-succeeded post hook is deleted: %v", err)

	// A failing migration: the release fails with the hook's cause, and the
	// Deployment is left at v2.
	before, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "shop", metav1.GetOptions{})
	require.NoError(t, err)
	out, code = deploy(digest('c'), "--helm-set", "migrateImage="+kubetest.Image(kubetest.Crash, "1"))
	require.NotEqual(t, 0, code, out)
	o := outputs(out)
	assert.Equal(t, "failed", o["verdict"], out)
	assert.Equal(t, "false", o["rolled-back"], "nothing of the release was applied, so nothing is rolled back")
	assert.Contains(t, o["cause"], "JobFailed", out)
	assert.Contains(t, out, "pre-upgrade hook Job "+ns+"/shop-migrate failed")
	assert.Contains(t, out, `container "migrate" of pod shop-migrate-`)
	assert.Contains(t, out, "exited with code 1")
	assert.Contains(t, out, "the release's other objects were not applied")
	assert.NotRegexp(t, `(?m)^post-upgrade\s`, out, "no post hook after a failed pre hook")
	after, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "shop", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, before.Generation, after.Generation, "the Deployment did not change")
	assert.Equal(t, v2, after.Spec.Template.Spec.Containers[0].Image)
	assert.Nil(t, replicaSetOf(t, c, ns, "shop", shopImage+"@"+digest('c')), "no pod of the failed release was created")
	failed, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "shop-migrate", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, kubetest.Image(kubetest.Crash, "1"), failed.Spec.Template.Spec.Containers[0].Image, "the failed Job is kept to be read (no hook-failed policy)")
}
