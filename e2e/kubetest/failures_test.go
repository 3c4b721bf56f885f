package kubetest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
)

// watchPod follows the pods matching selector and returns every version of the
// first one seen, up to the first for which done returns true.
func watchPod(t *testing.T, c *kubetest.Env, ns, selector string, done func(*corev1.Pod) bool) []*corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rolloutTimeout)
	defer cancel()
	w, err := c.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{LabelSelector: selector})
	require.NoError(t, err)
	defer w.Stop()
	var seen []*corev1.Pod
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || (len(seen) > 0 && p.UID != seen[0].UID) {
			continue
		}
		seen = append(seen, p)
		if done(p) {
			return seen
		}
	}
	last := "no pod"
	if len(seen) > 0 {
		last = fmt.Sprintf("%+v", seen[len(seen)-1].Status)
	}
	t.Fatalf("watching pods %s in %s: %v; last status: %s", selector, ns, ctx.Err(), last)
	return nil
}

func containerStatus(p *corev1.Pod, name string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == name {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func waitingReason(p *corev1.Pod, container string) string {
	if s := containerStatus(p, container); s != nil && s.State.Waiting != nil {
		return s.State.Waiting.Reason
	}
	return ""
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// podEvents waits until the pod has an event for each of want ("Reason: message"),
// then returns all its events by "Reason: message".
func podEvents(t *testing.T, c *kubetest.Env, p *corev1.Pod, want ...string) map[string]corev1.Event {
	t.Helper()
	var byKey map[string]corev1.Event
	kubetest.Poll(t, rolloutTimeout, fmt.Sprintf("events %q of pod %s", want, p.Name), func(ctx context.Context) (bool, error) {
		list, err := c.Client.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(p.UID)).String(),
		})
		if err != nil {
			return false, err
		}
		byKey = map[string]corev1.Event{}
		for _, e := range list.Items {
			byKey[e.Reason+": "+e.Message] = e
		}
		for _, k := range want {
			if _, ok := byKey[k]; !ok {
				return false, fmt.Errorf("no event %q yet; have %q", k, keys(byKey))
			}
		}
		return true, nil
	})
	return byKey
}

func keys(m map[string]corev1.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// kubeletEvent checks that an event looks like one from the pod's kubelet and
// returns it.
func kubeletEvent(t *testing.T, events map[string]corev1.Event, p *corev1.Pod, typ, reason, message string) corev1.Event {
	t.Helper()
	e, ok := events[reason+": "+message]
	if !assert.True(t, ok, "no %s event %q; have %v", reason, message, keys(events)) {
		return e
	}
	assert.Equal(t, typ, e.Type)
	assert.Equal(t, "kubelet", e.Source.Component)
	assert.Equal(t, p.Spec.NodeName, e.Source.Host)
	assert.Equal(t, "kubelet", e.ReportingController)
	assert.Equal(t, "Pod", e.InvolvedObject.Kind)
	assert.Equal(t, p.Name, e.InvolvedObject.Name)
	assert.Equal(t, "spec.containers{app}", e.InvolvedObject.FieldPath)
	assert.False(t, e.LastTimestamp.IsZero())
	assert.False(t, e.FirstTimestamp.IsZero())
	return e
}

func deploy(t *testing.T, c *kubetest.Env, ns string, d *appsv1.Deployment) {
	t.Helper()
	_, err := c.Client.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	require.NoError(t, err)
}

func TestHealthyPodStatusAndEvents(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	deploy(t, c, ns, deployment("ok", "example.com/ok:1", 1))

	seen := watchPod(t, c, ns, "app=ok", podReady)
	p := seen[len(seen)-1]
	s := containerStatus(p, "app")
	require.NotNil(t, s)
	assert.True(t, s.Ready)
	assert.True(t, ptr.Deref(s.Started, false))
	require.NotNil(t, s.State.Running)
	assert.Equal(t, "example.com/ok:1", s.Image)
	assert.True(t, strings.HasPrefix(s.ImageID, "example.com/ok@sha256:"), s.ImageID)
	assert.True(t, strings.HasPrefix(s.ContainerID, "containerd://"), s.ContainerID)
	assert.Equal(t, corev1.PodRunning, p.Status.Phase)
	assert.NotEmpty(t, p.Status.PodIP)
	assert.NotEmpty(t, p.Status.HostIP)
	// The kubelet reports ContainerCreating before the container runs.
	assert.Equal(t, "ContainerCreating", waitingReason(seen[firstWithStatus(seen)], "app"))

	scheduled := fmt.Sprintf("Scheduled: Successfully assigned %s/%s to %s", ns, p.Name, p.Spec.NodeName)
	pulled := `Pulled: Successfully pulled image "example.com/ok:1" in 412ms (412ms including waiting). Image size: 28172359 bytes.`
	events := podEvents(t, c, p, scheduled, `Pulling: Pulling image "example.com/ok:1"`, pulled,
		"Created: Created container: app", "Started: Started container app")
	assert.Equal(t, "default-scheduler", events[scheduled].ReportingController, "the real scheduler bound the pod")
	kubeletEvent(t, events, p, "Normal", "Pulling", `Pulling image "example.com/ok:1"`)
	kubeletEvent(t, events, p, "Normal", "Created", "Created container: app")
	kubeletEvent(t, events, p, "Normal", "Started", "Started container app")
}

func firstWithStatus(seen []*corev1.Pod) int {
	for i, p := range seen {
		if len(p.Status.ContainerStatuses) > 0 {
			return i
		}
	}
	return len(seen) - 1
}

func TestSimulatedFailures(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	c.RequireSimulation(t)

	t.Run("never ready", func(t *testing.T) {
		t.Parallel()
		ns := c.Namespace(t)
		d := deployment("unready", kubetest.Image(kubetest.Unready, "1"), 1)
		d.Spec.Template.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)},
		}}
		deploy(t, c, ns, d)

		seen := watchPod(t, c, ns, "app=unready", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
		p := seen[len(seen)-1]
		s := containerStatus(p, "app")
		require.NotNil(t, s.State.Running, "the container runs")
		assert.False(t, s.Ready)
		ready := podCondition(p, corev1.PodReady)
		require.NotNil(t, ready)
		assert.Equal(t, corev1.ConditionFalse, ready.Status)
		assert.Equal(t, "ContainersNotReady", ready.Reason)
		assert.Equal(t, "containers with unready status: [app]", ready.Message)

		events := podEvents(t, c, p, "Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503")
		kubeletEvent(t, events, p, "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503")

		got, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "unready", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Zero(t, got.Status.AvailableReplicas)
		assert.Equal(t, int32(1), got.Status.UnavailableReplicas)
	})

	t.Run("image pull failure", func(t *testing.T) {
		t.Parallel()
		ns := c.Namespace(t)
		image := kubetest.Image(kubetest.PullError, "1")
		deploy(t, c, ns, deployment("pull", image, 1))

		seen := watchPod(t, c, ns, "app=pull", func(p *corev1.Pod) bool { return waitingReason(p, "app") == "ImagePullBackOff" })
		assert.Contains(t, reasons(seen, "app"), "ErrImagePull", "ErrImagePull comes before ImagePullBackOff")
		p := seen[len(seen)-1]
		assert.Equal(t, corev1.PodPending, p.Status.Phase)
		s := containerStatus(p, "app")
		assert.False(t, s.Ready)
		assert.Empty(t, s.ImageID)
		assert.Equal(t, fmt.Sprintf(`Back-off pulling image %[1]q: ErrImagePull: failed to pull and unpack image %[1]q: failed to resolve reference %[1]q: %[1]s: not found`, image), s.State.Waiting.Message)

		failed := fmt.Sprintf(`Failed to pull image %[1]q: failed to pull and unpack image %[1]q: failed to resolve reference %[1]q: %[1]s: not found`, image)
		backoff := fmt.Sprintf("Back-off pulling image %q", image)
		events := podEvents(t, c, p, "Failed: "+failed, "Failed: Error: ErrImagePull", "BackOff: "+backoff, "Failed: Error: ImagePullBackOff")
		kubeletEvent(t, events, p, "Warning", "Failed", failed)
		kubeletEvent(t, events, p, "Warning", "Failed", "Error: ErrImagePull")
		kubeletEvent(t, events, p, "Normal", "BackOff", backoff)
		kubeletEvent(t, events, p, "Warning", "Failed", "Error: ImagePullBackOff")
	})

	for _, tc := range []struct {
		name      string
		behaviour kubetest.Behaviour
		reason    string
		exitCode  int32
	}{
		{"crash loop", kubetest.Crash, "Error", 1},
		{"out of memory", kubetest.OOM, "OOMKilled", 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			deploy(t, c, ns, deployment("crash", kubetest.Image(tc.behaviour, "1"), 1))

			seen := watchPod(t, c, ns, "app=crash", func(p *corev1.Pod) bool {
				s := containerStatus(p, "app")
				return s != nil && s.RestartCount >= 3 && waitingReason(p, "app") == "CrashLoopBackOff"
			})
			// What kubectl get pods -w shows: the container terminates,
			// backs off, terminates again...
			assert.Subset(t, reasons(seen, "app"), []string{"ContainerCreating", tc.reason, "CrashLoopBackOff"})
			var counts []int32
			for _, p := range seen {
				if s := containerStatus(p, "app"); s != nil && (len(counts) == 0 || counts[len(counts)-1] != s.RestartCount) {
					counts = append(counts, s.RestartCount)
				}
			}
			assert.Equal(t, []int32{0, 1, 2, 3}, counts, "the restart count rises one at a time")

			p := seen[len(seen)-1]
			assert.Equal(t, corev1.PodRunning, p.Status.Phase, "a crash-looping pod stays Running")
			s := containerStatus(p, "app")
			assert.False(t, s.Ready)
			require.NotNil(t, s.LastTerminationState.Terminated, "the last termination is kept")
			last := s.LastTerminationState.Terminated
			assert.Equal(t, tc.exitCode, last.ExitCode)
			assert.Equal(t, tc.reason, last.Reason)
			assert.False(t, last.FinishedAt.IsZero())
			assert.Equal(t, fmt.Sprintf("back-off 3s restarting failed container=app pod=%s_%s(%s)", p.Name, ns, p.UID), s.State.Waiting.Message)

			backoff := fmt.Sprintf("Back-off restarting failed container app in pod %s_%s(%s)", p.Name, ns, p.UID)
			present := `Container image "` + kubetest.Image(tc.behaviour, "1") + `" already present on machine`
			var events map[string]corev1.Event
			kubetest.Poll(t, rolloutTimeout, "the BackOff event to count 3 restarts", func(context.Context) (bool, error) {
				events = podEvents(t, c, p, "BackOff: "+backoff, "Pulled: "+present, "Started: Started container app")
				return events["BackOff: "+backoff].Count >= 3, nil
			})
			e := kubeletEvent(t, events, p, "Warning", "BackOff", backoff)
			assert.Equal(t, int32(3), e.Count, "one BackOff event, counted, as the kubelet's recorder aggregates them")
			assert.True(t, e.LastTimestamp.After(e.FirstTimestamp.Time), "first %v, last %v", e.FirstTimestamp, e.LastTimestamp)
			kubeletEvent(t, events, p, "Normal", "Pulled", present)
			started := kubeletEvent(t, events, p, "Normal", "Started", "Started container app")
			assert.GreaterOrEqual(t, started.Count, int32(3))
		})
	}

	t.Run("no node fits", func(t *testing.T) {
		t.Parallel()
		ns := c.Namespace(t)
		d := deployment("big", "example.com/big:1", 1)
		d.Spec.Template.Spec.Containers[0].Resources = kubetest.Unschedulable()
		deploy(t, c, ns, d)

		seen := watchPod(t, c, ns, "app=big", func(p *corev1.Pod) bool { return podCondition(p, corev1.PodScheduled) != nil })
		p := seen[len(seen)-1]
		cond := podCondition(p, corev1.PodScheduled)
		assert.Equal(t, corev1.ConditionFalse, cond.Status)
		assert.Equal(t, corev1.PodReasonUnschedulable, cond.Reason)
		assert.Contains(t, cond.Message, "0/3 nodes are available: 3 Insufficient cpu.")
		assert.Empty(t, p.Spec.NodeName)
		assert.Empty(t, p.Status.ContainerStatuses, "no kubelet ever sees the pod")

		kubetest.Poll(t, rolloutTimeout, "a FailedScheduling event", func(ctx context.Context) (bool, error) {
			list, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
				FieldSelector: fields.OneTermEqualSelector("involvedObject.uid", string(p.UID)).String(),
			})
			if err != nil {
				return false, err
			}
			for _, e := range list.Items {
				if e.Reason == "FailedScheduling" {
					assert.Equal(t, corev1.EventTypeWarning, e.Type)
					assert.Equal(t, "default-scheduler", e.ReportingController)
					assert.Contains(t, e.Message, "Insufficient cpu")
					return true, nil
				}
			}
			return false, nil
		})
	})
}

// reasons lists the distinct states a container went through: waiting and
// terminated reasons, in order.
func reasons(seen []*corev1.Pod, container string) []string {
	var out []string
	for _, p := range seen {
		s := containerStatus(p, container)
		if s == nil {
			continue
		}
		r := ""
		switch {
		case s.State.Waiting != nil:
			r = s.State.Waiting.Reason
		case s.State.Terminated != nil:
			r = s.State.Terminated.Reason
		case s.State.Running != nil:
			r = "Running"
		}
		if len(out) == 0 || out[len(out)-1] != r {
			out = append(out, r)
		}
	}
	return out
}

func TestBehaviourByAnnotationAndPerContainer(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)

	// The annotation wins over a healthy image.
	d := deployment("annotated", "example.com/web:1", 1)
	d.Spec.Template.Annotations = map[string]string{kubetest.BehaviourAnnotation: string(kubetest.Crash)}
	deploy(t, c, ns, d)
	// A crashing app next to a healthy sidecar: only the app restarts.
	d = deployment("sidecar", kubetest.Image(kubetest.Crash, "1"), 1)
	d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "proxy", Image: "example.com/proxy:1"})
	deploy(t, c, ns, d)

	watchPod(t, c, ns, "app=annotated", func(p *corev1.Pod) bool { return waitingReason(p, "app") == "CrashLoopBackOff" })
	seen := watchPod(t, c, ns, "app=sidecar", func(p *corev1.Pod) bool { return waitingReason(p, "app") == "CrashLoopBackOff" })
	p := seen[len(seen)-1]
	proxy := containerStatus(p, "proxy")
	require.NotNil(t, proxy)
	assert.True(t, proxy.Ready)
	assert.NotNil(t, proxy.State.Running)
	assert.Zero(t, proxy.RestartCount)
	ready := podCondition(p, corev1.PodReady)
	assert.Equal(t, "containers with unready status: [app]", ready.Message)
}

func TestJobs(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	ctx := context.Background()

	job := func(name, image string) *batchv1.Job {
		tmpl := podTemplate(name, image)
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		return &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       batchv1.JobSpec{BackoffLimit: ptr.To[int32](0), Template: tmpl},
		}
	}
	for _, j := range []*batchv1.Job{job("migrate", "example.com/migrate:1"), job("broken", kubetest.Image(kubetest.Crash, "1"))} {
		_, err := c.Client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	finished := func(name string, want batchv1.JobConditionType) *batchv1.Job {
		var j *batchv1.Job
		kubetest.Poll(t, rolloutTimeout, "job "+name+" to finish", func(ctx context.Context) (bool, error) {
			var err error
			if j, err = c.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
				return false, err
			}
			for _, cond := range j.Status.Conditions {
				if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
					return cond.Type == want, fmt.Errorf("job %s: %s (%s)", name, cond.Type, cond.Reason)
				}
			}
			return false, nil
		})
		return j
	}
	assert.Equal(t, int32(1), finished("migrate", batchv1.JobComplete).Status.Succeeded)
	broken := finished("broken", batchv1.JobFailed)
	assert.Equal(t, int32(1), broken.Status.Failed)
	for _, cond := range broken.Status.Conditions {
		if cond.Type == batchv1.JobFailed {
			assert.Equal(t, batchv1.JobReasonBackoffLimitExceeded, cond.Reason)
		}
	}
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=broken"})
	require.NoError(t, err)
	require.NotEmpty(t, pods.Items)
	p := pods.Items[0]
	assert.Equal(t, corev1.PodFailed, p.Status.Phase)
	s := containerStatus(&p, "app")
	require.NotNil(t, s.State.Terminated)
	assert.Equal(t, int32(1), s.State.Terminated.ExitCode)
	assert.Zero(t, s.RestartCount, "restartPolicy Never")
}
