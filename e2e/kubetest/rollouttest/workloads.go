package rollouttest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// Timeout bounds the waits of a test; it measures nothing.
const Timeout = 90 * time.Second

// PodTemplate is one container "app" running image, labelled app=<app>.
func PodTemplate(app, image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			// Pods of a deleted revision go at once, not after 30 s.
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name:  "app",
				Image: image,
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
			}},
		},
	}
}

// Deployment runs replicas of image.
func Deployment(name, image string, replicas int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: PodTemplate(name, image),
		},
	}
}

// StatefulSet runs replicas of image behind a headless service of the same name.
func StatefulSet(name, image string, replicas int32) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.StatefulSetSpec{
			ServiceName: name,
			Replicas:    ptr.To(replicas),
			Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template:    PodTemplate(name, image),
		},
	}
}

// DaemonSet runs image on every node.
func DaemonSet(name, image string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: PodTemplate(name, image),
		},
	}
}

// Job runs image once, without retries: a migration.
func Job(name, image string) *batchv1.Job {
	tmpl := PodTemplate(name, image)
	tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: tmpl},
	}
}

// Create creates a workload and returns the target a deploy would hand the
// watch: its kind, namespace, name and the generation written.
func Create(t testing.TB, client kubernetes.Interface, ns string, obj any) rollout.Target {
	t.Helper()
	ctx := context.Background()
	var m metav1.Object
	var kind rollout.Kind
	var err error
	switch o := obj.(type) {
	case *appsv1.Deployment:
		kind = rollout.Deployment
		m, err = client.AppsV1().Deployments(ns).Create(ctx, o, metav1.CreateOptions{})
	case *appsv1.StatefulSet:
		kind = rollout.StatefulSet
		m, err = client.AppsV1().StatefulSets(ns).Create(ctx, o, metav1.CreateOptions{})
	case *appsv1.DaemonSet:
		kind = rollout.DaemonSet
		m, err = client.AppsV1().DaemonSets(ns).Create(ctx, o, metav1.CreateOptions{})
	case *batchv1.Job:
		kind = rollout.Job
		m, err = client.BatchV1().Jobs(ns).Create(ctx, o, metav1.CreateOptions{})
	default:
		t.Fatalf("rollouttest.Create: unsupported %T", obj)
	}
	require.NoError(t, err)
	return rollout.Target{Kind: kind, Namespace: ns, Name: m.GetName(), Generation: m.GetGeneration()}
}

// UpdateTemplate changes a workload's pod template as a new release does and
// returns the target with the generation written.
func UpdateTemplate(t testing.TB, client kubernetes.Interface, target rollout.Target, change func(*corev1.PodTemplateSpec)) rollout.Target {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		switch target.Kind {
		case rollout.Deployment:
			c := client.AppsV1().Deployments(target.Namespace)
			d, err := c.Get(ctx, target.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			change(&d.Spec.Template)
			d, err = c.Update(ctx, d, metav1.UpdateOptions{})
			if err == nil {
				target.Generation = d.Generation
			}
			return err
		case rollout.StatefulSet:
			c := client.AppsV1().StatefulSets(target.Namespace)
			s, err := c.Get(ctx, target.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			change(&s.Spec.Template)
			s, err = c.Update(ctx, s, metav1.UpdateOptions{})
			if err == nil {
				target.Generation = s.Generation
			}
			return err
		case rollout.DaemonSet:
			c := client.AppsV1().DaemonSets(target.Namespace)
			s, err := c.Get(ctx, target.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			change(&s.Spec.Template)
			s, err = c.Update(ctx, s, metav1.UpdateOptions{})
			if err == nil {
				target.Generation = s.Generation
			}
			return err
		}
		t.Fatalf("rollouttest.UpdateTemplate: %s has no template to update", target.Kind)
		return nil
	})
	require.NoError(t, err)
	return target
}

// SetImage returns a change that sets container "app"'s image.
func SetImage(image string) func(*corev1.PodTemplateSpec) {
	return func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].Image = image }
}

// Watch watches targets with a fresh Watcher and fails the test on an error.
func Watch(t testing.TB, client kubernetes.Interface, opts []rollout.Option, targets ...rollout.Target) *rollout.Verdict {
	t.Helper()
	w, err := rollout.New(client, opts...)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	v, err := w.Watch(ctx, targets...)
	require.NoError(t, err)
	return v
}

// Cluster returns the package's test cluster (see kubetest), or skips the test
// under -short, so that go test -short runs the unit tests alone.
func Cluster(t testing.TB) *kubetest.Env {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: an end-to-end test against the test control plane; -short runs unit tests only")
	}
	return kubetest.Cluster(t)
}
