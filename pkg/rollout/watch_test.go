package rollout

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/shlex"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/deploy-action/deploy-action/pkg/field"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// watching starts a watch of web in the background over an in-memory API
// server (client-go's fake clientset, whose watches the informers use as they
// would a real server's) and a fake clock.
type watching struct {
	client *fake.Clientset
	clock  *testingclock.FakeClock
	log    *bytes.Buffer
	done   chan struct{}
	v      *Verdict
	err    error
}

func startWatch(t *testing.T, ctx context.Context, objs []runtime.Object, opts ...Option) *watching {
	t.Helper()
	w := &watching{
		client: fake.NewClientset(objs...),
		clock:  testingclock.NewFakeClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)),
		log:    &bytes.Buffer{},
		done:   make(chan struct{}),
	}
	watcher, err := New(w.client, append([]Option{WithClock(w.clock), WithLog(w.log)}, opts...)...)
	require.NoError(t, err)
	go func() {
		defer close(w.done)
		w.v, w.err = watcher.Watch(ctx, Target{Kind: Deployment, Namespace: "shop", Name: "web", Generation: 2})
	}()
	return w
}

// waitIdle waits until the watch sleeps on its clock, having judged what it saw.
func (w *watching) waitIdle(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool {
		select {
		case <-w.done:
			return true
		default:
			return w.clock.HasWaiters()
		}
	}, 10*time.Second, 5*time.Millisecond, "the watch never waits")
}

func (w *watching) verdict(t *testing.T) *Verdict {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("no verdict; log:\n%s", w.log)
	}
	require.NoError(t, w.err)
	return w.v
}

// objects is the fixture's Deployment at revision 2 with one pod of it.
func objects(podMod func(*corev1.Pod)) []runtime.Object {
	f := newFixture()
	f.deploy.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1}
	f.pod("web-b2-1", podMod)
	var out []runtime.Object
	for _, o := range f.objs {
		out = append(out, o.(runtime.Object))
	}
	return out
}

func running(ready bool) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		p.Status.ContainerStatuses[0].Ready = ready
	}
}

func TestWatchDeadline(t *testing.T) {
	names := field.Map(map[string]string{FieldTimeout: `input "rollout-timeout"`})
	w := startWatch(t, context.Background(), objects(running(false)), WithTimeout(time.Minute), WithGrace(time.Hour), WithFieldNames(names))
	w.waitIdle(t)
	w.clock.Step(59 * time.Second)
	w.waitIdle(t)
	select {
	case <-w.done:
		t.Fatal("a verdict before the deadline")
	default:
	}
	w.clock.Step(time.Second)
	v := w.verdict(t)
	require.Equal(t, Failed, v.Outcome)
	c := v.Workloads[0].Cause
	require.NotNil(t, c)
	assert.Equal(t, DeadlineExceeded, c.Reason)
	assert.Equal(t, `deployment/web did not roll out within 1m0s: 1 of 1 updated, 0 available; container "app" of pod web-b2-1 runs but is not ready`, c.Message)
	assert.Contains(t, c.Fix, `raise input "rollout-timeout"`, "the fix names the setting as the caller does")
	assert.Equal(t, time.Minute, v.Duration)
	assert.Equal(t, []string{"web-b2-1"}, c.Pods)
}

func TestWatchGraceWakesTheWatch(t *testing.T) {
	w := startWatch(t, context.Background(), objects(running(false)), WithGrace(30*time.Second))
	w.waitIdle(t)
	w.clock.Step(30 * time.Second)
	v := w.verdict(t)
	require.Equal(t, Failed, v.Outcome)
	assert.Equal(t, ReadinessProbe, v.Workloads[0].Cause.Reason)
	assert.Contains(t, v.Workloads[0].Cause.Message, "runs but is not ready after 30s")
	assert.Equal(t, 30*time.Second, v.Duration, "the verdict comes when the grace runs out, not at the deadline")
}

func TestWatchSeesChanges(t *testing.T) {
	w := startWatch(t, context.Background(), objects(running(true)))
	w.waitIdle(t)
	w.clock.Step(2 * time.Second)
	w.waitIdle(t)
	// The controller reports the rollout complete: the watch hears of it at
	// once, without its clock moving.
	d, err := w.client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	d.Status.AvailableReplicas, d.Status.ReadyReplicas = 1, 1
	_, err = w.client.AppsV1().Deployments("shop").UpdateStatus(context.Background(), d, metav1.UpdateOptions{})
	require.NoError(t, err)
	v := w.verdict(t)
	require.Equal(t, Succeeded, v.Outcome, "%v", v.Err())
	assert.Equal(t, 2*time.Second, v.Workloads[0].TimeToReady)
	assert.Equal(t, []ImageChange{{Container: "app", Old: "example.com/shop:1", New: "example.com/shop:2"}}, v.Workloads[0].Images)
	assert.Equal(t, "deployment/web: 1 of 1 updated, 0 available\ndeployment/web: rolled out in 2s (1 of 1 updated, 1 available)\n", w.log.String())
}

func TestWatchCrashFetchesLogs(t *testing.T) {
	w := startWatch(t, context.Background(), objects(terminated(1, "Error", 2, "backoff")))
	v := w.verdict(t)
	require.Equal(t, Failed, v.Outcome)
	c := v.Workloads[0].Cause
	assert.Equal(t, CrashLoop, c.Reason)
	assert.Equal(t, []string{"fake logs"}, c.Logs, "the in-memory API server answers every log request so")
	assert.NotContains(t, c.Message, NoLogs)
	assert.Equal(t, []string{
		"kubectl -n shop describe pod web-b2-1",
		"kubectl -n shop logs web-b2-1 -c app --previous",
		"kubectl -n shop get events --field-selector involvedObject.name=web-b2-1 --sort-by=.lastTimestamp",
		"kubectl -n shop rollout history deployment/web",
	}, v.Workloads[0].Commands)
}

func TestWatchDeleted(t *testing.T) {
	w := startWatch(t, context.Background(), objects(running(true)))
	w.waitIdle(t)
	require.NoError(t, w.client.AppsV1().Deployments("shop").Delete(context.Background(), "web", metav1.DeleteOptions{}))
	v := w.verdict(t)
	assert.Equal(t, Deleted, v.Workloads[0].Cause.Reason)
}

func TestWatchCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := startWatch(t, ctx, objects(running(true)))
	w.waitIdle(t)
	cancel()
	<-w.done
	assert.ErrorIs(t, w.err, context.Canceled)
	assert.Nil(t, w.v)
}

func TestWatchRejectsBadTargets(t *testing.T) {
	w, err := New(fake.NewClientset())
	require.NoError(t, err)
	ctx := context.Background()
	for _, tc := range []struct {
		targets []Target
		want    string
	}{
		{nil, "rollout: no workloads to watch"},
		{[]Target{{Kind: "CronJob", Namespace: "shop", Name: "x"}}, `rollout: "CronJob" is not a workload kind a rollout can be watched for; use one of Deployment, StatefulSet, DaemonSet, Job`},
		{[]Target{{Kind: Deployment, Name: "web"}}, "rollout: deployment/web has no namespace; give the namespace the apply wrote it to"},
		{[]Target{{Kind: Deployment, Namespace: "shop"}}, "rollout: a Deployment target has no name"},
		{[]Target{{Kind: Job, Namespace: "shop", Name: "m"}, {Kind: Job, Namespace: "shop", Name: "m", Generation: 1}}, "rollout: job/m in namespace shop is listed twice"},
		{[]Target{{Kind: Deployment, Namespace: "shop", Name: "web"}}, "deployment/web in namespace shop: not found; the rollout watch follows the workloads the apply wrote: check their kind, name and namespace"},
	} {
		_, err := w.Watch(ctx, tc.targets...)
		assert.EqualError(t, err, tc.want)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	client := fake.NewClientset()
	_, err := New(nil)
	assert.EqualError(t, err, "rollout.New: nil Kubernetes client")
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{WithTimeout(0), `rollout.WithTimeout: 0s is not a duration a rollout can take; use a positive duration such as "5m"`},
		{WithGrace(-time.Second), `rollout.WithGrace: -1s is negative; use a duration such as "30s", or "0s" to fail at the first unready pod`},
		{WithLogLines(-1), "rollout: -1 log lines; use 0 or more"},
		{WithClock(nil), "rollout.WithClock: nil clock"},
		{WithLog(nil), "rollout.WithLog: nil writer"},
	} {
		_, err := New(client, tc.opt)
		assert.EqualError(t, err, tc.want)
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"Deployment": Deployment, "deploy": Deployment, "sts": StatefulSet, "DaemonSets": DaemonSet, " job ": Job} {
		got, err := ParseKind(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseKind("pod")
	assert.EqualError(t, err, `"pod" is not a workload kind a rollout can be watched for; use one of Deployment, StatefulSet, DaemonSet, Job`)
}

// TestMarkdown compares the job summary of a failed rollout with its golden
// file; go test -run TestMarkdown ./pkg/rollout/ -args -update rewrites it.
func TestMarkdown(t *testing.T) {
	v := &Verdict{Outcome: Failed, Duration: 4 * time.Second, Workloads: []Workload{
		{
			Target:   Target{Kind: Deployment, Namespace: "shop", Name: "web", Generation: 2},
			State:    Broken,
			Images:   []ImageChange{{Container: "app", Old: "docker.io/acme/shop@sha256:1111", New: "docker.io/acme/shop@sha256:2222"}},
			Replicas: Replicas{Desired: 3, Updated: 1, Ready: 3, Available: 3},
			Cause: &Cause{Reason: CrashLoop, Container: "app", Pods: []string{"web-b2-1"},
				Message: `container "app" of pod web-b2-1 exited with code 1 (Error), restarted 2 times`,
				Fix:     exitFix(1),
				Events:  []Event{{Object: "pod/web-b2-1", Type: "Warning", Reason: "BackOff", Message: "Back-off restarting failed container app in pod web-b2-1_shop(uid)", Count: 3}},
				Logs:    []string{"Traceback (most recent call last):", "KeyError: 'DATABASE_URL'", "```"},
			},
			Commands: []string{"kubectl -n shop describe pod web-b2-1", "kubectl -n shop logs web-b2-1 -c app --previous"},
		},
		{
			Target: Target{Kind: Job, Namespace: "shop", Name: "migrate-2"}, State: Ready, TimeToReady: 2300 * time.Millisecond,
			Images:   []ImageChange{{Container: "app", New: "docker.io/acme/shop@sha256:2222"}},
			Replicas: Replicas{Desired: 1, Ready: 1, Available: 1},
		},
		{
			Target: Target{Kind: StatefulSet, Namespace: "shop", Name: "db"}, State: Pending,
			Images: []ImageChange{{Container: "postgres", Old: "postgres:16", New: "postgres:17"}, {Container: "exporter", Old: "exporter:1", New: "exporter:1"}},
		},
	}}
	got := v.Markdown()
	path := filepath.Join("testdata", "summary.golden.md")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
	assert.EqualError(t, v.Err(), `deployment/web in namespace shop: CrashLoop: container "app" of pod web-b2-1 exited with code 1 (Error), restarted 2 times; `+exitFix(1))
	var fe *FailureError
	assert.True(t, errors.As(v.Err(), &fe))
}

// FuzzClassify feeds the classifier container states and messages as a
// kubelet might write them: it must not panic, and any cause it finds must say
// what and why in valid UTF-8.
func FuzzClassify(f *testing.F) {
	f.Add("ErrImagePull", `failed to pull and unpack image "example.com/x:1": not found`, int32(0), "", "example.com/x:1", "")
	f.Add("CreateContainerConfigError", `secret "db" not found`, int32(0), "", "x", "")
	f.Add("CreateContainerConfigError", `couldn't find key k in Secret ns/db`, int32(0), "", "x", "")
	f.Add("", "", int32(137), "OOMKilled", "x", "")
	f.Add("CrashLoopBackOff", "back-off", int32(1), "Error", "x", "Liveness probe failed: 500")
	f.Add("", "", int32(0), "", "x", "0/3 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {a: b}.")
	f.Add("InvalidImageName", "", int32(0), "", "INVALID::image@@", "")
	f.Fuzz(func(t *testing.T, waitReason, waitMessage string, exit int32, termReason, image, eventMessage string) {
		fx := newFixture()
		p := fx.pod("web-b2-1", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = image
			st := &p.Status.ContainerStatuses[0]
			st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: waitReason, Message: waitMessage}}
			if termReason != "" || exit != 0 {
				st.RestartCount = 1
				st.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Reason: termReason, Message: waitMessage}}
			}
			if strings.HasPrefix(eventMessage, "0/") {
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: eventMessage}}
			}
		})
		fx.event(p, "Pod", "spec.containers{app}", "Warning", "Unhealthy", eventMessage, 1)
		fx.event(p, "Pod", "", "Warning", "FailedMount", waitMessage, 2)
		fx.newRS.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Message: eventMessage}}
		_, s := fx.judge(0)
		if s.cause == nil {
			return
		}
		c := s.cause
		if c.Reason == "" || c.Message == "" || c.Fix == "" {
			t.Fatalf("incomplete cause %+v", c)
		}
		valid := utf8.ValidString(waitMessage) && utf8.ValidString(eventMessage) && utf8.ValidString(image) && utf8.ValidString(termReason)
		if valid && (!utf8.ValidString(c.Message) || !utf8.ValidString(c.Fix)) {
			t.Fatalf("invalid UTF-8 in %q / %q", c.Message, c.Fix)
		}
		for _, cmd := range commands(Target{Kind: Deployment, Namespace: "shop", Name: "web"}, s, c) {
			if _, err := shlex.Split(cmd); err != nil {
				t.Fatalf("command %q does not parse: %v", cmd, err)
			}
		}
	})
}

// FuzzShellQuote: a quoted word reads back, as one word, as itself.
func FuzzShellQuote(f *testing.F) {
	for _, s := range []string{"app=web", "app in (web,api)", "it's", `a"b`, "tier!=db,app", "$(rm -rf /)", "`x`", `back\slash`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Names and selectors in Kubernetes are UTF-8; shlex decodes runes,
		// where a shell would pass stray bytes through.
		if s == "" || strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			return
		}
		words, err := shlex.Split("kubectl get pods -l " + shellQuote(s))
		if err != nil {
			t.Fatalf("%q quoted as %q: %v", s, shellQuote(s), err)
		}
		if len(words) != 5 || words[4] != s {
			t.Fatalf("%q quoted as %q reads back as %q", s, shellQuote(s), words)
		}
	})
}
