package rolloutbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// kubectlTimeout is what kubectl rollout status is given: it never concludes on
// a crash loop or a failed pull before the Deployment's progress deadline (10
// minutes by default), so it is cut off here and reported as "no verdict".
func kubectlTimeout() time.Duration {
	if s := os.Getenv("BENCH_KUBECTL_TIMEOUT"); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			return d
		}
	}
	return 60 * time.Second
}

// kubectlRun is one kubectl rollout status, started with the deploy.
type kubectlRun struct {
	end    time.Time
	err    error
	output string
}

func startKubectl(b *testing.B, c *kubetest.Env, ns string, timeout time.Duration) <-chan kubectlRun {
	kubectl := testenv.LookPath(b, "kubectl")
	out := make(chan kubectlRun, 1)
	cmd := exec.Command(kubectl, "--kubeconfig", c.Kubeconfig, "-n", ns, "rollout", "status", "deployment/web",
		"--timeout="+timeout.String())
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		out <- kubectlRun{end: time.Now(), err: err, output: strings.TrimSpace(buf.String())}
	}()
	return out
}

// firstSeen follows the pods in ns and returns when one first matches show.
func firstSeen(ctx context.Context, b *testing.B, c *kubetest.Env, ns string, show func(*corev1.Pod) bool) <-chan time.Time {
	w, err := c.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		b.Fatal(err)
	}
	out := make(chan time.Time, 1)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type != watch.Deleted && show(p) {
				out <- time.Now()
				return
			}
		}
	}()
	return out
}

func status(p *corev1.Pod) *corev1.ContainerStatus {
	if len(p.Status.ContainerStatuses) == 0 {
		return nil
	}
	return &p.Status.ContainerStatuses[0]
}

func terminatedWith(reason string) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool {
		s := status(p)
		return s != nil && ((s.State.Terminated != nil && s.State.Terminated.Reason == reason) ||
			(s.LastTerminationState.Terminated != nil && s.LastTerminationState.Terminated.Reason == reason))
	}
}

func waitingWith(reasons ...string) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool {
		s := status(p)
		if s == nil || s.State.Waiting == nil {
			return false
		}
		for _, r := range reasons {
			if s.State.Waiting.Reason == r {
				return true
			}
		}
		return false
	}
}

// BenchmarkFailureVerdict breaks a healthy Deployment with a bad release and
// measures, from the moment a pod's status first shows the cause, how long
// deploy-action's watch and kubectl rollout status take to a verdict.
func BenchmarkFailureVerdict(b *testing.B) {
	c := rollouttest.Cluster(b)
	c.RequireSimulation(b)
	for _, tc := range []struct {
		name     string
		change   func(*corev1.PodTemplateSpec)
		deadline int32 // the Deployment's progressDeadlineSeconds; 0 keeps Kubernetes' 600
		shows    func(*corev1.Pod) bool
		reason   rollout.Reason
	}{
		{"crash-loop", rollouttest.SetImage(kubetest.Image(kubetest.Crash, "2")), 0, terminatedWith("Error"), rollout.CrashLoop},
		{"image-pull", rollouttest.SetImage(kubetest.Image(kubetest.PullError, "2")), 0, waitingWith("ErrImagePull", "ImagePullBackOff"), rollout.ImagePull},
		{"oom", func(p *corev1.PodTemplateSpec) {
			p.Spec.Containers[0].Image = kubetest.Image(kubetest.OOM, "2")
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
		}, 0, terminatedWith("OOMKilled"), rollout.OOMKilled},
		// With a progress deadline of 20 s, kubectl does conclude: this is its
		// best case, which no default manifest has.
		{"crash-loop-deadline-20s", rollouttest.SetImage(kubetest.Image(kubetest.Crash, "2")), 20, terminatedWith("Error"), rollout.CrashLoop},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.StopTimer()
			timeout := kubectlTimeout()
			var ours, theirs time.Duration
			concluded := 0
			for range b.N {
				ns := c.Namespace(b)
				d := rollouttest.Deployment("web", "example.com/shop:1", 2)
				if tc.deadline > 0 {
					d.Spec.ProgressDeadlineSeconds = ptr.To(tc.deadline)
				}
				target := rollouttest.Create(b, c.Client, ns, d)
				if v := rollouttest.Watch(b, c.Client, nil, target); v.Failed() {
					b.Fatalf("revision 1: %v", v.Err())
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
				cause := firstSeen(ctx, b, c, ns, tc.shows)
				watcher, err := rollout.New(c.Client, rollout.WithTimeout(timeout))
				if err != nil {
					b.Fatal(err)
				}

				b.StartTimer()
				target = rollouttest.UpdateTemplate(b, c.Client, target, tc.change)
				began := time.Now()
				kubectl := startKubectl(b, c, ns, timeout)
				v, err := watcher.Watch(ctx, target)
				verdictAt := time.Now()
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if !v.Failed() || v.Workloads[0].Cause.Reason != tc.reason {
					b.Fatalf("verdict %s, want the cause %s: %v", v.Outcome, tc.reason, v.Err())
				}
				causeAt := <-cause
				k := <-kubectl
				cancel()

				ours += verdictAt.Sub(causeAt)
				kubectlVerdict := "no verdict in " + k.end.Sub(began).Round(time.Second).String() + " (" + lastLine(k.output) + ")"
				if !strings.Contains(k.output, "timed out") {
					concluded++
					kubectlVerdict = fmt.Sprintf("verdict %.1fs after the cause: %s", k.end.Sub(causeAt).Seconds(), lastLine(k.output))
				}
				theirs += k.end.Sub(causeAt)
				b.Logf("%s: cause visible %.2fs after the update; deploy-action's verdict %.0fms later (%s); kubectl rollout status: %s",
					tc.name, causeAt.Sub(began).Seconds(), float64(verdictAt.Sub(causeAt).Microseconds())/1000, v.Workloads[0].Cause.Reason, kubectlVerdict)
			}
			n := float64(b.N)
			b.ReportMetric(ours.Seconds()/n, "s/cause-to-verdict")
			b.ReportMetric(theirs.Seconds()/n, "s/kubectl-cause-to-end")
			b.ReportMetric(float64(concluded)/n, "kubectl-verdicts/op")
			b.ReportMetric(theirs.Seconds()/ours.Seconds(), "x-kubectl/ours")
		})
	}
}

// BenchmarkSuccessVerdict rolls a healthy release out and measures, from the
// moment the Deployment's status shows the rollout complete (kubectl's own test:
// every replica updated and available, none old), how long deploy-action's
// watch and kubectl rollout status take to say so.
func BenchmarkSuccessVerdict(b *testing.B) {
	b.StopTimer()
	c := rollouttest.Cluster(b)
	var ours, theirs time.Duration
	for i := range b.N {
		ns := c.Namespace(b)
		target := rollouttest.Create(b, c.Client, ns, rollouttest.Deployment("web", "example.com/shop:1", 3))
		if v := rollouttest.Watch(b, c.Client, nil, target); v.Failed() {
			b.Fatalf("revision 1: %v", v.Err())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		available := completeAt(ctx, b, c, ns)
		watcher, err := rollout.New(c.Client)
		if err != nil {
			b.Fatal(err)
		}

		b.StartTimer()
		target = rollouttest.UpdateTemplate(b, c.Client, target, rollouttest.SetImage(fmt.Sprintf("example.com/shop:%d", i+2)))
		kubectl := startKubectl(b, c, ns, time.Minute)
		v, err := watcher.Watch(ctx, target)
		verdictAt := time.Now()
		b.StopTimer()
		if err != nil || v.Failed() {
			b.Fatalf("%v %v", err, v.Err())
		}
		k := <-kubectl
		at := <-available
		cancel()
		if k.err != nil {
			b.Fatalf("kubectl rollout status: %v: %s", k.err, k.output)
		}
		ours += verdictAt.Sub(at)
		theirs += k.end.Sub(at)
		b.Logf("rollout complete; deploy-action's verdict %.0fms later, kubectl rollout status's exit %.0fms later",
			float64(verdictAt.Sub(at).Microseconds())/1000, float64(k.end.Sub(at).Microseconds())/1000)
	}
	n := float64(b.N)
	b.ReportMetric(ours.Seconds()*1000/n, "ms/available-to-verdict")
	b.ReportMetric(theirs.Seconds()*1000/n, "ms/kubectl-available-to-exit")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "x-kubectl/ours")
}

// completeAt returns when the Deployment's status first shows the rollout of
// a generation after the current one complete.
func completeAt(ctx context.Context, b *testing.B, c *kubetest.Env, ns string) <-chan time.Time {
	cur, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := c.Client.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", "web").String(), ResourceVersion: cur.ResourceVersion,
	})
	if err != nil {
		b.Fatal(err)
	}
	out := make(chan time.Time, 1)
	var once sync.Once
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || d.Generation <= cur.Generation {
				continue
			}
			want := ptr.Deref(d.Spec.Replicas, 1)
			if d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want &&
				d.Status.Replicas == want && d.Status.AvailableReplicas == want {
				once.Do(func() { out <- time.Now() })
				return
			}
		}
	}()
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
