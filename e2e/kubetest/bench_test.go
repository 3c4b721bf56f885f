package kubetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
)

// timePod creates a pod and follows it until done, returning the time from the
// create to the scheduler's binding and to done.
func timePod(b *testing.B, c *kubetest.Env, ns, name, image string, done func(*corev1.Pod) bool) (bound, finished time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rolloutTimeout)
	defer cancel()
	pods := c.Client.CoreV1().Pods(ns)
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	tmpl := podTemplate(name, image)
	began := time.Now()
	if _, err := pods.Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tmpl.Spec}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || ev.Type == watch.Deleted {
			continue
		}
		if bound == 0 && p.Spec.NodeName != "" {
			bound = time.Since(began)
		}
		if done(p) {
			return bound, time.Since(began)
		}
	}
	b.Fatalf("pod %s: %v", name, ctx.Err())
	return 0, 0
}

// BenchmarkPodReady measures how long a healthy pod takes from its creation to
// Ready: the scheduler binds it, kwok starts it.
func BenchmarkPodReady(b *testing.B) {
	c := kubetest.Cluster(b)
	c.RequireSimulation(b)
	ns := c.Namespace(b)
	var total time.Duration
	for i := range b.N {
		_, d := timePod(b, c, ns, fmt.Sprintf("ready-%d", i), "example.com/ok:1", podReady)
		total += d
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/ready")
}

// BenchmarkFailureVisible measures how soon a crashing container's first failure
// (terminated, reason Error) shows in the pod's status after the pod is bound to
// a node; the rollout stage's promise of seconds rests on it.
func BenchmarkFailureVisible(b *testing.B) {
	c := kubetest.Cluster(b)
	c.RequireSimulation(b)
	ns := c.Namespace(b)
	var afterBinding time.Duration
	for i := range b.N {
		bound, failed := timePod(b, c, ns, fmt.Sprintf("crash-%d", i), kubetest.Image(kubetest.Crash, "1"), func(p *corev1.Pod) bool {
			s := containerStatus(p, "app")
			return s != nil && s.State.Terminated != nil && s.State.Terminated.Reason == "Error"
		})
		afterBinding += failed - bound
	}
	b.ReportMetric(afterBinding.Seconds()/float64(b.N), "s/failure-after-binding")
}

// BenchmarkDeploymentRollout measures a three-replica Deployment from creation to
// a complete rollout through the real controllers.
func BenchmarkDeploymentRollout(b *testing.B) {
	c := kubetest.Cluster(b)
	c.RequireSimulation(b)
	ns := c.Namespace(b)
	ctx := context.Background()
	for i := range b.N {
		name := fmt.Sprintf("web-%d", i)
		w, err := c.Client.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Client.AppsV1().Deployments(ns).Create(ctx, deployment(name, "example.com/web:1", 3), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(rolloutTimeout)
	wait:
		for {
			select {
			case ev := <-w.ResultChan():
				if d, ok := ev.Object.(*appsv1.Deployment); ok && deploymentComplete(d) {
					break wait
				}
			case <-timeout:
				b.Fatalf("deployment %s did not complete", name)
			}
		}
		w.Stop()
	}
}
