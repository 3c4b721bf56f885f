package rollout_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// TestShopRollsOut deploys the shop's manifests (a Deployment, its Service and a
// migration Job) and waits for both workloads: the verdict is a success, with
// the time each took.
func TestShopRollsOut(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()

	_, err := c.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "shop"},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	web := rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("shop", "example.com/shop:1.0.0", 3))
	migrate := rollouttest.Create(t, c.Client, ns, rollouttest.Job("shop-migrate", "example.com/shop:1.0.0"))

	var log bytes.Buffer
	v := rollouttest.Watch(t, c.Client, []rollout.Option{rollout.WithLog(&log)}, web, migrate)
	t.Logf("log:\n%s", log.String())
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())
	require.Len(t, v.Workloads, 2)
	d := v.Workloads[0]
	assert.Equal(t, rollout.Ready, d.State)
	assert.Equal(t, rollout.Replicas{Desired: 3, Updated: 3, Ready: 3, Available: 3}, d.Replicas)
	assert.Equal(t, []rollout.ImageChange{{Container: "app", New: "example.com/shop:1.0.0"}}, d.Images)
	assert.Positive(t, d.TimeToReady)
	assert.Contains(t, d.Commands, "kubectl -n "+ns+" get pods -l app=shop")
	j := v.Workloads[1]
	assert.Equal(t, rollout.Ready, j.State)
	assert.Equal(t, int32(1), j.Replicas.Ready, "the migration completed")
	assert.LessOrEqual(t, d.TimeToReady, v.Duration)
	assert.Contains(t, log.String(), "deployment/shop: rolled out in ")
	assert.Contains(t, log.String(), "job/shop-migrate: rolled out in ")
	assert.NoError(t, v.Err())
	assert.Contains(t, v.Markdown(), "| `deployment/shop` | "+ns+" | example.com/shop:1.0.0 | 3/3 available, 3 updated |")
}

// TestUpdateRollsOut updates a Deployment, a StatefulSet and a DaemonSet to a
// new image: each is watched to its new revision, with old and new images.
func TestUpdateRollsOut(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	targets := []rollout.Target{
		rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("web", "example.com/web:1", 2)),
		rollouttest.Create(t, c.Client, ns, rollouttest.StatefulSet("db", "example.com/db:1", 2)),
		rollouttest.Create(t, c.Client, ns, rollouttest.DaemonSet("agent", "example.com/agent:1")),
	}
	v := rollouttest.Watch(t, c.Client, nil, targets...)
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())

	for i := range targets {
		image := strings.Replace(v.Workloads[i].Images[0].New, ":1", ":2", 1)
		targets[i] = rollouttest.UpdateTemplate(t, c.Client, targets[i], rollouttest.SetImage(image))
		assert.Equal(t, int64(2), targets[i].Generation)
	}
	v = rollouttest.Watch(t, c.Client, nil, targets...)
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())
	for _, w := range v.Workloads {
		assert.Equal(t, rollout.Ready, w.State, w.Ref())
		require.Len(t, w.Images, 1)
		assert.Equal(t, strings.Replace(w.Images[0].New, ":2", ":1", 1), w.Images[0].Old, w.Ref())
		assert.True(t, strings.HasSuffix(w.Images[0].New, ":2"), w.Ref())
	}
	assert.Equal(t, int32(3), v.Workloads[2].Replicas.Desired, "one agent per node")
}

func TestWatchCrashLoopExplained(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	target := rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("web", "example.com/web:1", 2))
	v := rollouttest.Watch(t, c.Client, nil, target)
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())
	target = rollouttest.UpdateTemplate(t, c.Client, target, rollouttest.SetImage(kubetest.Image(kubetest.Crash, "2")))
	began := time.Now()
	v = rollouttest.Watch(t, c.Client, nil, target)
	t.Logf("verdict in %s:\n%s", time.Since(began), v.Markdown())
	require.Equal(t, rollout.Failed, v.Outcome)
	cause := v.Workloads[0].Cause
	require.NotNil(t, cause)
	assert.Equal(t, rollout.CrashLoop, cause.Reason)
}
