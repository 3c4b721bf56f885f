package rollback_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/rollback"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// deployer applies releases as the deploy stage does (server-side apply as
// "deploy-action"), and rolls them back from what the apply recorded.
type deployer struct {
	*release
	ns      string
	clients *kube.Clients
}

func newDeployer(t *testing.T, c *kubetest.Env, ns string) *deployer {
	clients, err := kube.NewClients(c.Config, ns)
	require.NoError(t, err)
	return &deployer{release: newRelease(t, c.Client), ns: ns, clients: clients}
}

// apply applies the release in manifest (YAML documents) and watches its
// workloads to a verdict.
func (d *deployer) apply(manifest string) (*apply.Result, *rollout.Verdict) {
	d.t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var objs []apply.Object
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(d.t, err)
		objs = append(objs, apply.Object{Unstructured: &unstructured.Unstructured{Object: m}})
	}
	a, err := apply.New(d.clients.Dynamic, d.clients.Mapper, apply.WithNamespace(d.ns))
	require.NoError(d.t, err)
	res, err := a.Apply(context.Background(), objs)
	require.NoError(d.t, err)
	var targets []rollout.Target
	for _, w := range res.Workloads() {
		k, err := rollout.ParseKind(w.GVK.Kind)
		require.NoError(d.t, err)
		targets = append(targets, rollout.Target{Kind: k, Namespace: w.Namespace, Name: w.Name, Generation: w.Generation})
	}
	return res, d.watch(targets...)
}

func (d *deployer) rollback(res *apply.Result, opts ...rollback.Option) *rollback.Result {
	d.t.Helper()
	rb, err := rollback.New(d.client, d.watcher, append([]rollback.Option{rollback.WithLog(&d.log), rollback.WithDynamicClient(d.clients.Dynamic)}, opts...)...)
	require.NoError(d.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), rolloutTest)
	defer cancel()
	out, err := rb.Release(ctx, res.Objects)
	require.NoError(d.t, err)
	return out
}

func web(image, logLevel, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {LOG_LEVEL: %[2]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  revisionHistoryLimit: 0
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: app
        image: %[1]s
        envFrom: [{configMapRef: {name: web}}]
%[3]s`, image, logLevel, extra)
}

// TestReleaseConflictIsReportedNotForced: after release 2 fails, another field
// manager takes the ConfigMap's LOG_LEVEL. Without force-conflicts the
// rollback leaves that field to it and says which manager and field stopped
// it; the workload is still put back. With force-conflicts it takes it back.
func TestReleaseConflictIsReportedNotForced(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	d := newDeployer(t, c, ns)
	_, v := d.apply(web(good, "info", ""))
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())
	res, v := d.apply(web(kubetest.Image(kubetest.Crash, "2"), "debug", ""))
	require.Equal(t, rollout.Failed, v.Outcome)

	_, err := c.Client.CoreV1().ConfigMaps(ns).Apply(ctx, corev1ac.ConfigMap("web", ns).WithData(map[string]string{"LOG_LEVEL": "trace"}),
		metav1.ApplyOptions{FieldManager: "ops", Force: true})
	require.NoError(t, err)

	rb := d.rollback(res)
	require.Len(t, rb.Objects, 2)
	cm := rb.Objects[0]
	assert.Equal(t, "ConfigMap "+ns+"/web", cm.String())
	assert.Equal(t, rollback.Failed, cm.Action, cm.Message)
	require.Len(t, cm.Conflicts, 1)
	assert.Equal(t, ".data.LOG_LEVEL", cm.Conflicts[0].Field)
	assert.Contains(t, cm.Conflicts[0].Message, `"ops"`)
	assert.Contains(t, cm.Message, `.data.LOG_LEVEL (conflict with "ops"`)
	assert.Contains(t, cm.Message, "Set "+rollback.FieldForceConflicts+" to take them over", "the setting, named as the caller names it (here: not at all)")
	assert.Equal(t, rollback.Restored, rb.Objects[1].Action, "the Deployment still goes back: %s", rb.Objects[1].Message)
	assert.False(t, rb.RolledBack(), "not all of it")
	require.Error(t, rb.Err())
	assert.Contains(t, rb.Err().Error(), `ConfigMap `+ns+`/web: not restored`)
	assert.Contains(t, rb.Markdown(), "| `ConfigMap "+ns+"/web` | failed |")
	live, err := c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "trace", live.Data["LOG_LEVEL"], "not forced")

	// With force-conflicts, as the apply would, the restore takes it back.
	rb = d.rollback(&apply.Result{Objects: res.Objects[:1]}, rollback.WithForceConflicts(true))
	assert.Equal(t, rollback.Restored, rb.Objects[0].Action, rb.Objects[0].Message)
	live, err = c.Client.CoreV1().ConfigMaps(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "info", live.Data["LOG_LEVEL"])
}

// TestReleaseRollsBackFromTheRecordedTemplate: a Deployment with
// revisionHistoryLimit: 0 whose revision 1's ReplicaSet is gone by the time
// the rollback runs (the controller deletes such a ReplicaSet once it is
// scaled down; here it is deleted as the garbage collector would). The
// rollback restores the pod template the apply recorded before it wrote.
func TestReleaseRollsBackFromTheRecordedTemplate(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	d := newDeployer(t, c, ns)
	_, v := d.apply(web(good, "info", ""))
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())
	res, v := d.apply(web(kubetest.Image(kubetest.Crash, "2"), "info", ""))
	require.Equal(t, rollout.Failed, v.Outcome)
	w := res.Objects[1]
	require.NotNil(t, w.Previous)
	require.NotNil(t, w.Previous.Template, "the apply recorded the template")
	require.Equal(t, int64(1), w.Previous.RevisionNumber)

	sets, err := c.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(t, err)
	deleted := 0
	for _, rs := range sets.Items {
		if rs.Annotations[rollout.RevisionAnnotation] == "1" {
			require.NoError(t, c.Client.AppsV1().ReplicaSets(ns).Delete(ctx, rs.Name, metav1.DeleteOptions{}))
			deleted++
		}
	}
	require.Equal(t, 1, deleted, "revision 1's ReplicaSet")

	rb := d.rollback(res)
	require.Len(t, rb.Workloads, 1)
	restore := rb.Workloads[0]
	assert.Equal(t, rollback.Restored, restore.Action, restore.Message)
	assert.Contains(t, restore.Message, "restored the pod template the apply recorded before the deploy, as revision 1, live before the deploy, is no longer kept")
	require.True(t, rb.RolledBack(), "%v", rb.Err())
	dep, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, good, dep.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, int32(2), dep.Status.AvailableReplicas)
}
