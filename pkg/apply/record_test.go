package apply_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/deploy-action/deploy-action/pkg/apply"
)

func toUnstructured(t *testing.T, obj runtime.Object, apiVersion, kind string) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	require.NoError(t, err)
	u := &unstructured.Unstructured{Object: m}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	return u
}

// TestPreviousConfig: the configuration a manager had applied is read back
// from the object's managedFields, as the in-memory server (the same
// structured-merge-diff as the API server) records them: the manager's own
// fields with their values, list elements by key, and nothing another manager
// set.
func TestPreviousConfig(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	po := metav1.ApplyOptions{FieldManager: "deploy-action"}
	_, err := client.CoreV1().ConfigMaps("shop").Apply(ctx, corev1ac.ConfigMap("web", "shop").
		WithLabels(map[string]string{"app": "web"}).
		WithData(map[string]string{"LOG_LEVEL": "info", "WORKERS": "4"}), po)
	require.NoError(t, err)
	_, err = client.CoreV1().ConfigMaps("shop").Apply(ctx, corev1ac.ConfigMap("web", "shop").
		WithData(map[string]string{"TRACE": "on"}), metav1.ApplyOptions{FieldManager: "ops"})
	require.NoError(t, err)
	cm, err := client.CoreV1().ConfigMaps("shop").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)

	a := apply.Applied{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespace: "shop", Name: "web",
		Before: toUnstructured(t, cm, "v1", "ConfigMap")}
	got, ok, err := a.PreviousConfig("deploy-action")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "web", "namespace": "shop", "labels": map[string]any{"app": "web"}},
		"data":     map[string]any{"LOG_LEVEL": "info", "WORKERS": "4"},
	}, got.Object, "TRACE belongs to ops")

	_, ok, err = a.PreviousConfig("kubectl")
	require.NoError(t, err)
	assert.False(t, ok, "a manager that never applied it has no configuration")
	_, ok, err = apply.Applied{Name: "new"}.PreviousConfig("deploy-action")
	require.NoError(t, err)
	assert.False(t, ok, "a created object has none")

	// A Deployment: containers are a list keyed by name, env a list keyed
	// by name inside it.
	_, err = client.AppsV1().Deployments("shop").Apply(ctx, appsv1ac.Deployment("web", "shop").
		WithSpec(appsv1ac.DeploymentSpec().WithReplicas(2).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": "web"})).
			WithTemplate(corev1ac.PodTemplateSpec().WithLabels(map[string]string{"app": "web"}).
				WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("app").WithImage("example.com/shop:1").
					WithEnv(corev1ac.EnvVar().WithName("A").WithValue("1")))))), po)
	require.NoError(t, err)
	// Another manager adds a sidecar's env var: not part of the configuration.
	_, err = client.AppsV1().Deployments("shop").Apply(ctx, appsv1ac.Deployment("web", "shop").
		WithSpec(appsv1ac.DeploymentSpec().WithTemplate(corev1ac.PodTemplateSpec().
			WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("app").
				WithEnv(corev1ac.EnvVar().WithName("INJECTED").WithValue("yes")))))), metav1.ApplyOptions{FieldManager: "injector"})
	require.NoError(t, err)
	d, err := client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, d.Spec.Template.Spec.Containers[0].Env, 2)
	a = apply.Applied{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Namespace: "shop", Name: "web",
		Before: toUnstructured(t, d, "apps/v1", "Deployment")}
	got, ok, err = a.PreviousConfig("deploy-action")
	require.NoError(t, err)
	require.True(t, ok)
	containers, _, err := unstructured.NestedSlice(got.Object, "spec", "template", "spec", "containers")
	require.NoError(t, err)
	assert.Equal(t, []any{map[string]any{
		"name": "app", "image": "example.com/shop:1",
		"env": []any{map[string]any{"name": "A", "value": "1"}},
	}}, containers)
	replicas, _, _ := unstructured.NestedInt64(got.Object, "spec", "replicas")
	assert.Equal(t, int64(2), replicas)
	_, hasStatus := got.Object["status"]
	assert.False(t, hasStatus)
}
