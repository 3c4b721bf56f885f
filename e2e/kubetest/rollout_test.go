package kubetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
)

// rolloutTimeout is generous: it bounds a wait, it does not measure speed (the
// benchmarks do).
const rolloutTimeout = 60 * time.Second

func podTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "app",
			Image: image,
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
}

func deployment(name, image string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: podTemplate(name, image),
		},
	}
}

// deploymentComplete is kubectl rollout status's test: the controller has seen
// the latest spec, every replica is updated and available, no old one is left.
func deploymentComplete(d *appsv1.Deployment) bool {
	want := ptr.Deref(d.Spec.Replicas, 1)
	return d.Status.ObservedGeneration >= d.Generation &&
		d.Status.UpdatedReplicas == want &&
		d.Status.Replicas == want &&
		d.Status.AvailableReplicas == want
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

func waitDeployment(t *testing.T, c *kubetest.Env, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	kubetest.Poll(t, rolloutTimeout, "deployment "+name+" to complete its rollout", func(ctx context.Context) (bool, error) {
		var err error
		d, err = c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && deploymentComplete(d), err
	})
	return d
}

func TestDeploymentRollsOutAndUpdates(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	deploys := c.Client.AppsV1().Deployments(ns)

	_, err := deploys.Create(ctx, deployment("web", "example.com/web:1", 3), metav1.CreateOptions{})
	require.NoError(t, err)
	d := waitDeployment(t, c, ns, "web")
	available := condition(d, appsv1.DeploymentAvailable)
	require.NotNil(t, available, "conditions: %+v", d.Status.Conditions)
	assert.Equal(t, corev1.ConditionTrue, available.Status)
	progressing := condition(d, appsv1.DeploymentProgressing)
	require.NotNil(t, progressing)
	assert.Equal(t, "NewReplicaSetAvailable", progressing.Reason)

	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 3)
	for _, p := range pods.Items {
		assert.NotEmpty(t, p.Spec.NodeName, "the scheduler binds every pod")
		assert.Equal(t, corev1.PodRunning, p.Status.Phase)
		assert.NotEmpty(t, p.Status.PodIP)
		assert.Equal(t, "default", p.Spec.ServiceAccountName, "the ServiceAccount admission plugin ran")
	}

	// A rolling update: the controller makes a second ReplicaSet and moves the
	// replicas over to it.
	first, err := replicaSets(ctx, c, ns, "app=web")
	require.NoError(t, err)
	require.Len(t, first, 1)

	d.Spec.Template.Spec.Containers[0].Image = "example.com/web:2"
	_, err = deploys.Update(ctx, d, metav1.UpdateOptions{})
	require.NoError(t, err)
	d = waitDeployment(t, c, ns, "web")
	assert.Equal(t, "2", d.Annotations["deployment.kubernetes.io/revision"])

	sets, err := replicaSets(ctx, c, ns, "app=web")
	require.NoError(t, err)
	require.Len(t, sets, 2)
	for _, rs := range sets {
		switch rs.Spec.Template.Spec.Containers[0].Image {
		case "example.com/web:1":
			assert.Equal(t, first[0].Name, rs.Name)
			assert.Zero(t, ptr.Deref(rs.Spec.Replicas, -1), "the old ReplicaSet is scaled down")
		case "example.com/web:2":
			assert.Equal(t, int32(3), rs.Status.ReadyReplicas)
			assert.Equal(t, "2", rs.Annotations["deployment.kubernetes.io/revision"])
		default:
			t.Errorf("unexpected ReplicaSet %s with image %s", rs.Name, rs.Spec.Template.Spec.Containers[0].Image)
		}
	}
	kubetest.Poll(t, rolloutTimeout, "the old pods to be deleted", func(ctx context.Context) (bool, error) {
		pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if p.Spec.Containers[0].Image != "example.com/web:2" {
				return false, nil
			}
		}
		return len(pods.Items) == 3, nil
	})
}

func replicaSets(ctx context.Context, c *kubetest.Env, ns, selector string) ([]appsv1.ReplicaSet, error) {
	list, err := c.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func TestStatefulSetBecomesReady(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()

	_, err := c.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  map[string]string{"app": "db"},
			Ports:     []corev1.ServicePort{{Port: 5432}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: "db",
			Replicas:    ptr.To[int32](2),
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template:    podTemplate("db", "example.com/postgres:17"),
		},
	}
	_, err = c.Client.AppsV1().StatefulSets(ns).Create(ctx, sts, metav1.CreateOptions{})
	require.NoError(t, err)

	var got *appsv1.StatefulSet
	kubetest.Poll(t, rolloutTimeout, "statefulset db to be ready", func(ctx context.Context) (bool, error) {
		var err error
		got, err = c.Client.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
		return err == nil && got.Status.ObservedGeneration >= got.Generation &&
			got.Status.ReadyReplicas == 2 && got.Status.AvailableReplicas == 2 &&
			got.Status.UpdatedReplicas == 2 && got.Status.CurrentRevision == got.Status.UpdateRevision, err
	})
	// Ordered pods with stable names, as the StatefulSet controller makes them.
	for i := range 2 {
		p, err := c.Client.CoreV1().Pods(ns).Get(ctx, fmt.Sprintf("db-%d", i), metav1.GetOptions{})
		require.NoError(t, err)
		assert.True(t, podReady(p), "pod %s: %+v", p.Name, p.Status.Conditions)
	}
	sel := labels.SelectorFromSet(map[string]string{"app": "db"}).String()
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	require.NoError(t, err)
	assert.Len(t, pods.Items, 2)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// TestFailedRollingUpdateAndUndo is a bad release: the new pods crash, the
// Deployment controller keeps the old ones serving and reports the stall once the
// progress deadline passes, and `kubectl rollout undo` restores the old template.
func TestFailedRollingUpdateAndUndo(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	deploys := c.Client.AppsV1().Deployments(ns)

	d := deployment("shop", "example.com/shop:1", 2)
	d.Spec.ProgressDeadlineSeconds = ptr.To[int32](3)
	_, err := deploys.Create(ctx, d, metav1.CreateOptions{})
	require.NoError(t, err)
	d = waitDeployment(t, c, ns, "shop")

	d.Spec.Template.Spec.Containers[0].Image = kubetest.Image(kubetest.Crash, "2")
	_, err = deploys.Update(ctx, d, metav1.UpdateOptions{})
	require.NoError(t, err)
	kubetest.Poll(t, rolloutTimeout, "the rollout to exceed its progress deadline", func(ctx context.Context) (bool, error) {
		d, err = deploys.Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		p := condition(d, appsv1.DeploymentProgressing)
		return p != nil && p.Status == corev1.ConditionFalse && p.Reason == "ProgressDeadlineExceeded", nil
	})
	assert.Equal(t, int32(2), d.Status.AvailableReplicas, "the old pods keep serving (maxUnavailable rounds down to 0)")
	assert.Equal(t, int32(1), d.Status.UpdatedReplicas, "one new pod, crash-looping (maxSurge 25% of 2 rounds up to 1)")

	stdout, stderr, err := c.Kubectl(t, "", "rollout", "undo", "-n", ns, "deployment/shop")
	require.NoError(t, err, stderr)
	assert.Contains(t, stdout, "rolled back")
	d = waitDeployment(t, c, ns, "shop")
	assert.Equal(t, "example.com/shop:1", d.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, "3", d.Annotations["deployment.kubernetes.io/revision"], "an undo is a new revision")
}
