package rollback_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/pkg/rollback"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// TestNextApplyAfterARollback deploys as the apply stage does, by server-side
// apply with the field manager "deploy-action": revision 1, then a revision 2
// that crashes and adds an environment variable. The rollback restores revision
// 1 whole (the variable goes) and leaves the fields with the manager's applied
// configuration, so that revision 3 applies without a conflict and without
// forcing.
func TestNextApplyAfterARollback(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	const manager = "deploy-action"
	apply := func(image string, env ...*corev1ac.EnvVarApplyConfiguration) (rollout.Target, error) {
		d := appsv1ac.Deployment("web", ns).WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(2).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": "web"})).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(map[string]string{"app": "web"}).
				WithSpec(corev1ac.PodSpec().WithTerminationGracePeriodSeconds(0).WithContainers(
					corev1ac.Container().WithName("app").WithImage(image).WithEnv(env...)))))
		got, err := c.Client.AppsV1().Deployments(ns).Apply(ctx, d, metav1.ApplyOptions{FieldManager: manager})
		if err != nil {
			return rollout.Target{}, err
		}
		return rollout.Target{Kind: rollout.Deployment, Namespace: ns, Name: "web", Generation: got.Generation}, nil
	}
	r := newRelease(t, c.Client)

	web, err := apply(good)
	require.NoError(t, err)
	require.Equal(t, rollout.Succeeded, r.watch(web).Outcome)
	prev := r.previous(web)

	web, err = apply(kubetest.Image(kubetest.Crash, "2"), corev1ac.EnvVar().WithName("FEATURE").WithValue("on"))
	require.NoError(t, err)
	v := r.watch(web)
	require.Equal(t, rollout.Failed, v.Outcome)
	prev.Target = web

	rb, err := rollback.New(c.Client, r.watcher, rollback.WithFieldManager(manager))
	require.NoError(t, err)
	res, err := rb.Rollback(ctx, prev)
	require.NoError(t, err)
	require.True(t, res.RolledBack(), "%v", res.Err())
	assert.NotContains(t, res.Workloads[0].Message, "must force")

	d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, good, d.Spec.Template.Spec.Containers[0].Image)
	assert.Empty(t, d.Spec.Template.Spec.Containers[0].Env, "what revision 2 added is gone")

	web, err = apply("example.com/shop:3")
	require.NoError(t, err, "the next release applies without a conflict")
	v = r.watch(web)
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())
	assert.Equal(t, []rollout.ImageChange{{Container: "app", Old: good, New: "example.com/shop:3"}}, v.Workloads[0].Images)
}

// TestNextApplyAfterAStatefulSetRollback: the same for a StatefulSet, whose
// broken pod the rollback also replaces.
func TestNextApplyAfterAStatefulSetRollback(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	const manager = "deploy-action"
	apply := func(image string) (rollout.Target, error) {
		s := appsv1ac.StatefulSet("db", ns).WithSpec(appsv1ac.StatefulSetSpec().
			WithReplicas(2).WithServiceName("db").
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": "db"})).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(map[string]string{"app": "db"}).
				WithSpec(corev1ac.PodSpec().WithTerminationGracePeriodSeconds(0).WithContainers(
					corev1ac.Container().WithName("postgres").WithImage(image)))))
		got, err := c.Client.AppsV1().StatefulSets(ns).Apply(ctx, s, metav1.ApplyOptions{FieldManager: manager})
		if err != nil {
			return rollout.Target{}, err
		}
		return rollout.Target{Kind: rollout.StatefulSet, Namespace: ns, Name: "db", Generation: got.Generation}, nil
	}
	r := newRelease(t, c.Client)
	db, err := apply("example.com/postgres:16")
	require.NoError(t, err)
	require.Equal(t, rollout.Succeeded, r.watch(db).Outcome)
	prev := r.previous(db)

	db, err = apply(kubetest.Image(kubetest.PullError, "17"))
	require.NoError(t, err)
	require.Equal(t, rollout.ImagePull, r.watch(db).Workloads[0].Cause.Reason)
	prev.Target = db

	rb, err := rollback.New(c.Client, r.watcher, rollback.WithFieldManager(manager))
	require.NoError(t, err)
	res, err := rb.Rollback(ctx, prev)
	require.NoError(t, err)
	require.True(t, res.RolledBack(), "%v", res.Err())
	assert.NotContains(t, res.Workloads[0].Message, "must force")
	assert.Contains(t, res.Workloads[0].Message, "deleted 1 pod(s) of the failed revision")

	db, err = apply("example.com/postgres:16.4")
	require.NoError(t, err, "the next release applies without a conflict")
	v := r.watch(db)
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())
	assert.Equal(t, []rollout.ImageChange{{Container: "postgres", Old: "example.com/postgres:16", New: "example.com/postgres:16.4"}}, v.Workloads[0].Images)
}
