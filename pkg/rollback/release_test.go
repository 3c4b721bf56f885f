package rollback

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

var (
	gvrConfigMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrServices   = schema.GroupVersionResource{Version: "v1", Resource: "services"}
)

func configMap(name string, data map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "shop"}, "data": data}}
	return u
}

func applied(kind string, gvr schema.GroupVersionResource, name string, action apply.Action) apply.Applied {
	return apply.Applied{GVK: gvr.GroupVersion().WithKind(kind), Resource: gvr, Namespace: "shop", Name: name, Action: action}
}

// release2 is what the apply recorded of a release that changed the
// ConfigMap web, created the ConfigMap feature, left the Service alone and
// changed the Deployment web from revision 1.
func release2() []apply.Applied {
	cm := applied("ConfigMap", gvrConfigMaps, "web", apply.Configured)
	cm.Before = configMap("web", map[string]any{"LOG_LEVEL": "info"})
	feature := applied("ConfigMap", gvrConfigMaps, "feature", apply.Created)
	feature.UID = "feature-uid"
	svc := applied("Service", gvrServices, "web", apply.Unchanged)
	web := applied("Deployment", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "web", apply.Configured)
	web.Generation = 2
	web.Previous = &apply.Previous{Existed: true, RevisionNumber: 1}
	return []apply.Applied{cm, feature, svc, web}
}

func TestReleaseRollsBackEveryObject(t *testing.T) {
	ctx := context.Background()
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme,
		configMap("web", map[string]any{"LOG_LEVEL": "debug", "NEW": "1"}), configMap("feature", map[string]any{"ON": "yes"}))
	rec := &recorder{}
	r, err := New(fake.NewClientset(shop()...), rec, WithDynamicClient(dyn))
	require.NoError(t, err)

	res, err := r.Release(ctx, release2())
	require.NoError(t, err)
	var got []string
	for _, o := range res.Objects {
		got = append(got, o.String()+" "+string(o.Action))
	}
	assert.Equal(t, []string{"ConfigMap shop/web restored", "ConfigMap shop/feature deleted", "Service shop/web unchanged", "Deployment shop/web restored"}, got)
	assert.True(t, res.RolledBack())
	assert.NoError(t, res.Err())

	cm, err := dyn.Resource(gvrConfigMaps).Namespace("shop").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	assert.Equal(t, map[string]string{"LOG_LEVEL": "info"}, data, "written back as it was: the manager had not applied it")
	_, err = dyn.Resource(gvrConfigMaps).Namespace("shop").Get(ctx, "feature", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the created ConfigMap is gone: %v", err)
	require.Len(t, rec.watched, 1, "the Deployment's restore is watched")

	md := res.Markdown()
	for _, row := range []string{
		"| `ConfigMap shop/web` | restored |",
		"| `ConfigMap shop/feature` | deleted |  |  | the failed release created it |  |",
		"| `Service shop/web` | unchanged |  |  | the release did not change it |  |",
		"| `Deployment shop/web` | restored | 2 → 1 | example.com/shop:2 → example.com/shop:1 | restored the template of revision 1 (ReplicaSet web-a1) | ready |",
	} {
		assert.Contains(t, md, row)
	}
}

// TestReleaseOnAFirstDeployDeletesNothing: everything was created by the
// failed release; it is kept for inspection.
func TestReleaseOnAFirstDeployDeletesNothing(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, configMap("feature", nil))
	r, err := New(fake.NewClientset(), &recorder{}, WithDynamicClient(dyn))
	require.NoError(t, err)
	ns := applied("Namespace", schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "shop", apply.Created)
	ns.Namespace = ""
	res, err := r.Release(context.Background(), []apply.Applied{ns, applied("ConfigMap", gvrConfigMaps, "feature", apply.Created)})
	require.NoError(t, err)
	assert.Equal(t, Kept, res.Objects[0].Action)
	assert.Equal(t, Kept, res.Objects[1].Action)
	assert.Contains(t, res.Objects[1].Message, FirstDeployMessage)
	assert.False(t, res.RolledBack())
	_, err = dyn.Resource(gvrConfigMaps).Namespace("shop").Get(context.Background(), "feature", metav1.GetOptions{})
	assert.NoError(t, err)
}

// TestRecordedTemplateWhenTheRevisionIsGone: revision 1's ReplicaSet is gone
// (revisionHistoryLimit: 0, garbage collection); the template the apply
// recorded is restored instead of nothing.
func TestRecordedTemplateWhenTheRevisionIsGone(t *testing.T) {
	var objs []runtime.Object
	for _, o := range shop() {
		if rs, ok := o.(*appsv1.ReplicaSet); ok && rs.Name == "web-a1" {
			continue
		}
		objs = append(objs, o)
	}
	client := fake.NewClientset(objs...)
	r, err := New(client, &recorder{})
	require.NoError(t, err)
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/shop:1"}}}}
	web := rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web", Generation: 2}

	res, err := r.Rollback(context.Background(), Target{Target: web, Previous: 1})
	require.NoError(t, err)
	assert.Equal(t, NothingToRollBackTo, res.Workloads[0].Action, "without the record, nothing to go back to")

	res, err = r.Rollback(context.Background(), Target{Target: web, Previous: 1, Template: &tmpl})
	require.NoError(t, err)
	w := res.Workloads[0]
	assert.Equal(t, Restored, w.Action)
	assert.Equal(t, "restored the pod template the apply recorded before the deploy, as revision 1, live before the deploy, is no longer kept (revisionHistoryLimit, or deleted)", w.Message)
	assert.Equal(t, []rollout.ImageChange{{Container: "app", Old: "example.com/shop:2", New: "example.com/shop:1"}}, w.Images)
	d, err := client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "example.com/shop:1", d.Spec.Template.Spec.Containers[0].Image)
	assert.Empty(t, d.Spec.Template.Spec.Containers[0].EnvFrom, "the whole template is back")
	assert.True(t, res.RolledBack())
}

// TestConflictError: the API server's conflict, one cause per field, becomes
// a message naming each field and manager.
func TestConflictError(t *testing.T) {
	err := conflictError(apierrors.NewApplyConflict([]metav1.StatusCause{
		{Type: metav1.CauseTypeFieldManagerConflict, Field: ".data.LOG_LEVEL", Message: `conflict with "ops" using v1`},
		{Type: metav1.CauseTypeFieldManagerConflict, Field: ".data.WORKERS", Message: `conflict with "hpa-tuner" using v1`},
	}, "Apply failed with 2 conflicts"), field.Map(map[string]string{FieldForceConflicts: `input "force-conflicts"`}))
	var ce *ConflictError
	require.True(t, errors.As(err, &ce))
	assert.Len(t, ce.Conflicts, 2)
	assert.True(t, apierrors.IsConflict(err), "the server's error stays in the chain")
	assert.Equal(t, `not restored: other field managers own fields the restore would change: .data.LOG_LEVEL (conflict with "ops" using v1), `+
		`.data.WORKERS (conflict with "hpa-tuner" using v1); they were left as those managers set them. Set input "force-conflicts" to take them over, or restore them by hand`, err.Error())
}

// TestReleaseLeavesHelmHooks: a hook has its own phase; the release's
// rollback lists it and leaves it alone.
func TestReleaseLeavesHelmHooks(t *testing.T) {
	dyn := dynamicfake.NewSimpleDynamicClient(scheme.Scheme, configMap("hook", nil), configMap("feature", nil))
	r, err := New(fake.NewClientset(), &recorder{}, WithDynamicClient(dyn))
	require.NoError(t, err)
	hook := applied("ConfigMap", gvrConfigMaps, "hook", apply.Created)
	hook.Object = configMap("hook", nil)
	hook.Object.SetAnnotations(map[string]string{"helm.sh/hook": "pre-upgrade"})
	cfg := applied("ConfigMap", gvrConfigMaps, "web", apply.Unchanged)
	feature := applied("ConfigMap", gvrConfigMaps, "feature", apply.Created)
	res, err := r.Release(context.Background(), []apply.Applied{hook, cfg, feature})
	require.NoError(t, err)
	assert.Equal(t, Skipped, res.Objects[0].Action)
	assert.Contains(t, res.Objects[0].Message, "Helm hook")
	assert.Equal(t, Deleted, res.Objects[2].Action)
	_, err = dyn.Resource(gvrConfigMaps).Namespace("shop").Get(context.Background(), "hook", metav1.GetOptions{})
	assert.NoError(t, err, "the hook stays")
}
