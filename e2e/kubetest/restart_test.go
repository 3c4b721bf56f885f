package kubetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
)

// TestWatchSurvivesAPIServerRestart restarts the API server under open watches.
// A plain watch ends, and resuming it from its last resource version fails with
// 410 Expired, because the new server's watch cache starts at the current
// revision: a watcher must relist, as informers do. UntilWithSync (an informer)
// carries on across the restart and sees the controllers, which reconnect by
// themselves, finish a rollout started after it. Not parallel: the restart would
// break the other tests' requests.
func TestWatchSurvivesAPIServerRestart(t *testing.T) {
	c := kubetest.Cluster(t)
	cp := c.RequireControlPlane(t)
	ns := c.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	deploys := c.Client.AppsV1().Deployments(ns)

	_, err := deploys.Create(ctx, deployment("web", "example.com/web:1", 1), metav1.CreateOptions{})
	require.NoError(t, err)
	d := waitDeployment(t, c, ns, "web")

	plain, err := deploys.Watch(ctx, metav1.ListOptions{ResourceVersion: d.ResourceVersion})
	require.NoError(t, err)
	defer plain.Stop()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return deploys.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return deploys.Watch(ctx, o)
		},
	}
	type result struct {
		d   *appsv1.Deployment
		err error
	}
	done := make(chan result, 1)
	go func() {
		ev, err := watchtools.UntilWithSync(ctx, lw, &appsv1.Deployment{}, nil, func(ev watch.Event) (bool, error) {
			d, ok := ev.Object.(*appsv1.Deployment)
			return ok && ptr.Deref(d.Spec.Replicas, 0) == 3 && deploymentComplete(d), nil
		})
		var d *appsv1.Deployment
		if ev != nil {
			d, _ = ev.Object.(*appsv1.Deployment)
		}
		done <- result{d, err}
	}()
	// Make sure the revision moves on before the restart.
	_, err = c.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "marker"}}, metav1.CreateOptions{})
	require.NoError(t, err)

	require.NoError(t, cp.RestartAPIServer(ctx))

	for open := true; open; {
		select {
		case _, open = <-plain.ResultChan():
		case <-time.After(30 * time.Second):
			t.Fatal("the plain watch stayed open across the restart")
		}
	}
	resumed, err := deploys.Watch(ctx, metav1.ListOptions{ResourceVersion: d.ResourceVersion})
	require.NoError(t, err)
	ev := <-resumed.ResultChan()
	resumed.Stop()
	require.Equal(t, watch.Error, ev.Type, "resuming from %s after the restart: %v", d.ResourceVersion, ev.Object)
	status := apierrors.FromObject(ev.Object)
	assert.True(t, apierrors.IsResourceExpired(status) || apierrors.IsGone(status), "resuming: %v", status)

	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := deploys.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Replicas = ptr.To[int32](3)
		_, err = deploys.Update(ctx, d, metav1.UpdateOptions{})
		return err
	}))
	select {
	case r := <-done:
		require.NoError(t, r.err)
		assert.Equal(t, int32(3), r.d.Status.AvailableReplicas)
	case <-ctx.Done():
		t.Fatalf("UntilWithSync saw no complete rollout to 3 replicas: %v; kube-apiserver log:\n%s", ctx.Err(), cp.LogTail("kube-apiserver", 20))
	}
}
