package rollout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
)

// load reads a file written by TestRecord.
func load(t *testing.T, name string) []any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "recorded", name+".yaml"))
	require.NoError(t, err)
	var objs []any
	for _, doc := range strings.Split(string(data), "\n---\n") {
		if strings.TrimSpace(strings.TrimPrefix(doc, "---")) == "" || !strings.Contains(doc, "kind:") {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		require.NoError(t, err)
		objs = append(objs, obj)
	}
	require.NotEmpty(t, objs)
	return objs
}

// latest is the newest time the objects mention, so that an evaluation of
// recorded objects happens "just after" they were recorded.
func latest(objs []any) time.Time {
	var t time.Time
	later := func(x time.Time) {
		if x.After(t) {
			t = x
		}
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Event:
			later(eventTime(o))
		case metav1.Object:
			later(o.GetCreationTimestamp().Time)
		}
	}
	return t.Add(time.Second)
}

// judge evaluates a target as Watch does, twice if a grace asks for it: now,
// and when the grace has run out.
func judge(objs []any, target Target, now time.Time, grace time.Duration) (first, last status) {
	s := newStore(objs...)
	mem := newMemory()
	e := evaluator{store: s, now: now, grace: grace, mem: mem}
	first = e.evaluate(target, target.Generation)
	last = first
	if first.cause == nil && !first.done && !first.wake.IsZero() {
		e.now = first.wake
		last = e.evaluate(target, target.Generation)
	}
	return first, last
}

func generationOf(objs []any, kind Kind, name string) int64 {
	for _, o := range objs {
		if m, ok := o.(metav1.Object); ok && m.GetName() == name {
			if r, ok := o.(runtime.Object); ok && r.GetObjectKind().GroupVersionKind().Kind == string(kind) {
				return m.GetGeneration()
			}
		}
	}
	return 0
}

// TestClassifyRecorded judges what the test cluster showed for each failure.
func TestClassifyRecorded(t *testing.T) {
	for _, tc := range []struct {
		file      string
		kind      Kind
		name      string
		reason    Reason
		message   []string
		fix       string
		logs      bool
		container string
	}{
		{file: "pull-error", kind: Deployment, name: "web", reason: ImagePull,
			message: []string{`container "app" of pod web-`, `cannot pull image "example.com/pull-error:2" from example.com`, `example.com/pull-error:2: not found`},
			fix:     "the tag does not exist in example.com/pull-error", container: "app"},
		{file: "crash", kind: Deployment, name: "web", reason: CrashLoop,
			message: []string{`container "app" of pod web-`, "exited with code 1 (Error)"},
			fix:     "the application fails as it starts", logs: true, container: "app"},
		{file: "oom", kind: Deployment, name: "web", reason: OOMKilled,
			message: []string{"more than its memory limit of 128Mi (OOMKilled, exit code 137)"},
			fix:     "raise resources.limits.memory (now 128Mi)", logs: true, container: "app"},
		{file: "unready", kind: Deployment, name: "web", reason: ReadinessProbe,
			message: []string{"runs but is not ready after 3s", "readiness probe HTTP GET :8080/healthz: Readiness probe failed: HTTP probe failed with statuscode: 503"},
			fix:     "the readiness probe must answer with success", container: "app"},
		{file: "unschedulable", kind: Deployment, name: "web", reason: Unschedulable,
			message: []string{"cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu."},
			fix:     "no node has enough cpu free for the pod's request of 1k"},
		{file: "statefulset-crash", kind: StatefulSet, name: "db", reason: CrashLoop,
			message: []string{`container "app" of pod db-1 exited with code 1 (Error)`}, logs: true, container: "app",
			fix: "the application fails as it starts"},
		{file: "job-crash", kind: Job, name: "migrate", reason: JobFailed,
			message: []string{"job/migrate failed (BackoffLimitExceeded): Job has reached the specified backoff limit", "exited with code 1 (Error)"},
			// As the apply behaves: a finished Job is replaced when its
			// template changes, and only then.
			fix: "fix it and deploy again: the next deploy replaces the finished Job when its pod template changes; " +
				"to run the same template again, delete the Job first (kubectl -n shop delete job/migrate)", logs: true, container: "app"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			objs := load(t, tc.file)
			target := Target{Kind: tc.kind, Namespace: "shop", Name: tc.name, Generation: generationOf(objs, tc.kind, tc.name)}
			_, s := judge(objs, target, latest(objs), 3*time.Second)
			require.NotNil(t, s.cause, "progress %q, hints %q", s.progress, s.hints)
			assert.Equal(t, tc.reason, s.cause.Reason)
			for _, m := range tc.message {
				assert.Contains(t, s.cause.Message, m)
			}
			assert.Contains(t, s.cause.Fix, tc.fix)
			assert.Equal(t, tc.container, s.cause.Container)
			assert.Equal(t, tc.logs, s.logs != nil, "wants logs")
			assert.False(t, s.done)
		})
	}

	t.Run("healthy", func(t *testing.T) {
		objs := load(t, "healthy")
		target := Target{Kind: Deployment, Namespace: "shop", Name: "web", Generation: generationOf(objs, Deployment, "web")}
		require.Equal(t, int64(2), target.Generation)
		_, s := judge(objs, target, latest(objs), DefaultGrace)
		assert.Nil(t, s.cause)
		assert.True(t, s.done)
		assert.Equal(t, []ImageChange{{Container: "app", Old: "example.com/shop:1", New: "example.com/shop:2"}}, s.images)
		assert.Equal(t, Replicas{Desired: 2, Updated: 2, Ready: 2, Available: 2}, s.replicas)
		assert.Len(t, s.pods, 2, "only the new ReplicaSet's pods")
	})

	t.Run("the new revision is awaited", func(t *testing.T) {
		// Generation 3 has not been seen by the controller: the verdict
		// waits rather than judge the pods of generation 2.
		objs := load(t, "crash")
		_, s := judge(objs, Target{Kind: Deployment, Namespace: "shop", Name: "web", Generation: 3}, latest(objs), DefaultGrace)
		assert.Nil(t, s.cause)
		assert.False(t, s.done)
		assert.Equal(t, "waiting for the controller to see generation 3", s.progress)
	})
}

// fixture builds a Deployment "web" at revision 2 (image example.com/shop:2)
// whose revision 1 ran example.com/shop:1, with the given pods of revision 2.
type fixture struct {
	deploy  *appsv1.Deployment
	newRS   *appsv1.ReplicaSet
	objs    []any
	created time.Time
}

func newFixture() *fixture {
	created := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "deploy-uid", Generation: 2,
			Annotations: map[string]string{RevisionAnnotation: "2"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: template("example.com/shop:2"),
		},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1},
	}
	rs := func(rev, hash, image string) *appsv1.ReplicaSet {
		tmpl := template(image)
		tmpl.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
		return &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Namespace: "shop", UID: types.UID("rs-" + rev),
				Annotations:     map[string]string{RevisionAnnotation: rev},
				OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "web", UID: d.UID, Controller: ptr.To(true)}}},
			Spec: appsv1.ReplicaSetSpec{Template: tmpl},
		}
	}
	newRS := rs("2", "b2", "example.com/shop:2")
	return &fixture{deploy: d, newRS: newRS, objs: []any{d, rs("1", "a1", "example.com/shop:1"), newRS}, created: created}
}

func template(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}},
	}
}

// pod adds a pod of revision 2 with the given status, and returns it for events.
func (f *fixture) pod(name string, mod func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(f.created),
			OwnerReferences:   []metav1.OwnerReference{{Kind: "ReplicaSet", Name: f.newRS.Name, UID: f.newRS.UID, Controller: ptr.To(true)}}},
		Spec: *f.newRS.Spec.Template.Spec.DeepCopy(),
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "app", Image: "example.com/shop:2", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		}}},
	}
	p.Spec.RestartPolicy = corev1.RestartPolicyAlways
	if mod != nil {
		mod(p)
	}
	f.objs = append(f.objs, p)
	return p
}

// event adds an event about an object, seconds after the fixture's start.
func (f *fixture) event(about metav1.Object, kind, fieldPath, typ, reason, message string, seconds int) {
	at := metav1.NewTime(f.created.Add(time.Duration(seconds) * time.Second))
	f.objs = append(f.objs, &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: about.GetName() + "." + reason + "." + string(rune('a'+len(f.objs))), Namespace: "shop"},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: about.GetName(), Namespace: "shop", UID: about.GetUID(),
			FieldPath: fieldPath},
		Type: typ, Reason: reason, Message: message, Count: 1, FirstTimestamp: at, LastTimestamp: at,
	})
}

func (f *fixture) judge(grace time.Duration) (first, last status) {
	return judge(f.objs, Target{Kind: Deployment, Namespace: "shop", Name: "web", Generation: f.deploy.Generation}, f.created.Add(time.Minute), grace)
}

func waiting(reason, message string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
	}
}

func terminated(exit int32, reason string, restarts int32, now string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		st := &p.Status.ContainerStatuses[0]
		st.RestartCount = restarts
		term := &corev1.ContainerStateTerminated{ExitCode: exit, Reason: reason}
		switch now {
		case "terminated":
			st.State = corev1.ContainerState{Terminated: term}
		case "backoff":
			st.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s restarting failed container"}}
			st.LastTerminationState = corev1.ContainerState{Terminated: term}
		case "running":
			st.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
			st.LastTerminationState = corev1.ContainerState{Terminated: term}
		case "ready":
			st.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
			st.LastTerminationState = corev1.ContainerState{Terminated: term}
			st.Ready = true
		}
	}
}

// TestClassify judges what a kubelet, the scheduler and the controllers report
// for failures the simulated cluster does not produce, with their messages as
// Kubernetes writes them.
func TestClassify(t *testing.T) {
	const app = "spec.containers{app}"
	for _, tc := range []struct {
		name    string
		build   func(f *fixture)
		grace   time.Duration
		reason  Reason // "" for no cause
		message []string
		fix     string
		hint    string
		done    bool
		waits   bool // the first look finds no cause yet, only a grace running
	}{
		{
			name: "a volume whose ConfigMap is missing",
			build: func(f *fixture) {
				p := f.pod("web-b2-1", nil)
				f.event(p, "Pod", "", "Warning", "FailedMount", `MountVolume.SetUp failed for volume "config" : configmap "shop-config" not found`, 5)
			},
			grace:   30 * time.Second,
			waits:   true,
			hint:    `pod web-b2-1 cannot mount its volumes yet: MountVolume.SetUp failed for volume "config"`,
			reason:  ConfigError,
			message: []string{`pod web-b2-1 cannot start: the ConfigMap "shop-config" does not exist in namespace shop`},
			fix:     `create the ConfigMap "shop-config" in namespace shop`,
		},
		{
			name: "a missing Secret in the environment",
			build: func(f *fixture) {
				f.pod("web-b2-1", waiting("CreateContainerConfigError", `secret "shop-db" not found`))
			},
			reason:  ConfigError,
			message: []string{`container "app" of pod web-b2-1 cannot start: the Secret "shop-db" does not exist in namespace shop`},
			fix:     `kubectl -n shop create secret ...`,
		},
		{
			name: "a missing key of a ConfigMap",
			build: func(f *fixture) {
				f.pod("web-b2-1", waiting("CreateContainerConfigError", `couldn't find key LOG_LEVEL in ConfigMap shop/shop-config`))
			},
			reason:  ConfigError,
			message: []string{`the ConfigMap shop-config has no key "LOG_LEVEL"`},
			fix:     `add the key "LOG_LEVEL" to the ConfigMap shop-config in namespace shop`,
		},
		{
			name: "a command missing from the image",
			build: func(f *fixture) {
				f.pod("web-b2-1", waiting("RunContainerError", `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "gunicorn": executable file not found in $PATH: unknown`))
			},
			reason:  ContainerStart,
			message: []string{`container "app" of pod web-b2-1 cannot start (RunContainerError): failed to create containerd task`},
			fix:     "the command does not exist in the image",
		},
		{
			name: "a liveness probe that restarts the container",
			build: func(f *fixture) {
				p := f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
						HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}}
					terminated(137, "Error", 2, "running")(p)
				})
				f.event(p, "Pod", app, "Warning", "Unhealthy", `Liveness probe failed: Get "http://10.244.1.7:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, 20)
				f.event(p, "Pod", app, "Normal", "Killing", "Container app failed liveness probe, will be restarted", 21)
			},
			reason:  LivenessProbe,
			message: []string{`container "app" of pod web-b2-1 is restarted by its liveness probe (HTTP GET :http/healthz), 2 restarts: Liveness probe failed: Get`},
			fix:     "make the liveness probe's endpoint answer within timeoutSeconds",
		},
		{
			name:    "a command not found",
			build:   func(f *fixture) { f.pod("web-b2-1", terminated(127, "Error", 1, "backoff")) },
			reason:  CrashLoop,
			message: []string{`container "app" of pod web-b2-1 exited with code 127 (Error), restarted once`},
			fix:     "the command is not found in the image",
		},
		{
			name:    "a server that exits with code 0",
			build:   func(f *fixture) { f.pod("web-b2-1", terminated(0, "Completed", 3, "backoff")) },
			reason:  CrashLoop,
			message: []string{"exited with code 0 (Completed), restarted 3 times"},
			fix:     "a service must keep running in the foreground",
		},
		{
			name:    "a crash that is over",
			build:   func(f *fixture) { f.pod("web-b2-1", terminated(1, "Error", 1, "ready")) },
			reason:  "",
			message: nil,
		},
		{
			name: "a crashing init container",
			build: func(f *fixture) {
				f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "example.com/shop:2"}}
					p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", RestartCount: 2,
						State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
						LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}}}
					p.Status.ContainerStatuses[0].State.Waiting.Reason = "PodInitializing"
				})
			},
			reason:  CrashLoop,
			message: []string{`container "migrate" of pod web-b2-1 exited with code 2 (Error), restarted 2 times`},
		},
		{
			name: "an OOM kill without a limit",
			build: func(f *fixture) {
				f.pod("web-b2-1", terminated(137, "OOMKilled", 1, "backoff"))
			},
			reason:  OOMKilled,
			message: []string{"was killed for memory (OOMKilled, exit code 137) with no memory limit of its own"},
			fix:     "set resources.requests.memory and resources.limits.memory",
		},
		{
			name: "a quota that stays exceeded",
			build: func(f *fixture) {
				f.newRS.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
					Message: `pods "web-b2-x7k2p" is forbidden: exceeded quota: compute, requested: limits.memory=2Gi, used: limits.memory=7Gi, limited: limits.memory=8Gi`}}
				f.event(f.newRS, "ReplicaSet", "", "Warning", "FailedCreate", `Error creating: pods "web-b2-x7k2p" is forbidden: exceeded quota: compute, requested: limits.memory=2Gi, used: limits.memory=7Gi, limited: limits.memory=8Gi`, 2)
			},
			grace:   30 * time.Second,
			waits:   true,
			hint:    "replicaset/web-b2 cannot create pods: pods \"web-b2-x7k2p\" is forbidden: exceeded quota: compute",
			reason:  QuotaExceeded,
			message: []string{"replicaset/web-b2 cannot create pods: pods \"web-b2-x7k2p\" is forbidden: exceeded quota: compute"},
			fix:     `raise the ResourceQuota "compute" in namespace shop, or lower the pods' requests (each asks for limits.memory=2Gi)`,
		},
		{
			name: "pods refused by Pod Security",
			build: func(f *fixture) {
				f.newRS.Status.Conditions = []appsv1.ReplicaSetCondition{{Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
					Message: `pods "web-b2-q9" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)`}}
			},
			grace:  0,
			reason: FailedCreate,
			fix:    "the pods break the Pod Security level of namespace shop",
		},
		{
			name: "a taint no pod tolerates, as the scheduler used to name it",
			build: func(f *fixture) {
				f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Status.ContainerStatuses = nil
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
						Message: "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."}}
				})
			},
			reason:  Unschedulable,
			message: []string{"pod web-b2-1 cannot be scheduled: 0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: gpu}."},
			fix:     "nodes carry taints the pod does not tolerate ({dedicated: gpu})",
		},
		{
			name: "a node the autoscaler is adding",
			build: func(f *fixture) {
				p := f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Status.ContainerStatuses = nil
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
						Message: "0/3 nodes are available: 3 Insufficient memory."}}
				})
				f.event(p, "Pod", "", "Normal", "TriggeredScaleUp", "pod triggered scale-up: [{eks-workers 3->4 (max: 10)}]", 4)
			},
			reason: "",
			hint:   "pod web-b2-1 waits for a node the cluster autoscaler is adding: pod triggered scale-up",
		},
		{
			name: "the progress deadline",
			build: func(f *fixture) {
				f.deploy.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
					Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "web-b2" has timed out progressing.`}}
				f.pod("web-b2-1", nil)
			},
			reason:  ProgressDeadline,
			message: []string{`deployment/web made no progress for 600s (progressDeadlineSeconds): ReplicaSet "web-b2" has timed out progressing.`},
		},
		{
			name:    "a paused Deployment",
			build:   func(f *fixture) { f.deploy.Spec.Paused = true },
			reason:  Paused,
			message: []string{"deployment/web is paused (spec.paused)"},
			fix:     "kubectl -n shop rollout resume deployment/web",
		},
		{
			name: "probes that allow a slow start",
			build: func(f *fixture) {
				f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{InitialDelaySeconds: 60, PeriodSeconds: 10, FailureThreshold: 3,
						ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}
					p.Status.Phase = corev1.PodRunning
					p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
				})
			},
			grace:   5 * time.Second,
			waits:   true,
			hint:    `container "app" of pod web-b2-1 runs but is not ready`,
			reason:  ReadinessProbe,
			message: []string{"runs but is not ready after 1m30s; readiness probe TCP :8080; the kubelet reported no probe failure"},
		},
		{
			name: "an image behind authentication",
			build: func(f *fixture) {
				f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Spec.Containers[0].Image = "ghcr.io/acme/shop@sha256:0f2c7e0a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6"
					waiting("ErrImagePull", `failed to pull and unpack image "ghcr.io/acme/shop@sha256:0f2c…": failed to resolve reference: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://ghcr.io/token?scope=repository%3Aacme%2Fshop%3Apull&service=ghcr.io: 401 Unauthorized`)(p)
				})
			},
			reason:  ImagePull,
			message: []string{`cannot pull image "ghcr.io/acme/shop@sha256:0f2c7e0a`, "from ghcr.io (ErrImagePull)"},
			fix:     "the cluster has no credentials ghcr.io accepts: add an imagePullSecret for ghcr.io",
		},
		{
			name: "Docker Hub's answer for a private or missing repository",
			build: func(f *fixture) {
				p := f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Spec.Containers[0].Image = "acme/shop:2"
					waiting("ImagePullBackOff", `Back-off pulling image "acme/shop:2"`)(p)
				})
				f.event(p, "Pod", app, "Warning", "Failed", `Failed to pull image "acme/shop:2": rpc error: code = Unknown desc = Error response from daemon: pull access denied for acme/shop, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`, 3)
			},
			reason:  ImagePull,
			message: []string{`cannot pull image "acme/shop:2" from docker.io (ImagePullBackOff): Failed to pull image "acme/shop:2": rpc error`},
			fix:     "either acme/shop does not exist or the cluster has no credentials for docker.io",
		},
		{
			name: "an evicted pod",
			build: func(f *fixture) {
				f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted"
					p.Status.Message = "The node was low on resource: ephemeral-storage."
				})
			},
			reason: "",
			hint:   "pod web-b2-1 was evicted: The node was low on resource: ephemeral-storage.",
		},
		{
			name: "rolled out",
			build: func(f *fixture) {
				f.deploy.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
				f.pod("web-b2-1", func(p *corev1.Pod) {
					p.Status.Phase = corev1.PodRunning
					p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
					p.Status.ContainerStatuses[0].Ready = true
				})
			},
			done: true,
		},
		{
			name: "an old replica still to go",
			build: func(f *fixture) {
				f.deploy.Status = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 2, AvailableReplicas: 1}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			tc.build(f)
			first, s := f.judge(tc.grace)
			if tc.waits {
				assert.Nil(t, first.cause, "a grace applies first")
				assert.False(t, first.wake.IsZero(), "the watch is told when to look again")
			}
			if tc.hint != "" {
				require.NotEmpty(t, first.hints)
				assert.Contains(t, first.hints[0], tc.hint)
			}
			assert.Equal(t, tc.done, s.done)
			if tc.reason == "" {
				assert.Nil(t, s.cause)
				return
			}
			require.NotNil(t, s.cause, "progress %q, hints %q", s.progress, s.hints)
			assert.Equal(t, tc.reason, s.cause.Reason, s.cause.Message)
			for _, m := range tc.message {
				assert.Contains(t, s.cause.Message, m)
			}
			assert.Contains(t, s.cause.Fix, tc.fix)
			assert.NotEmpty(t, s.cause.Fix)
		})
	}
}

func TestClassifyStatefulSetDaemonSetJob(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", UID: "sts", Generation: 2},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Template: template("example.com/postgres:17"),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](2)}}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 1, CurrentRevision: "db-1", UpdateRevision: "db-2"},
	}
	target := Target{Kind: StatefulSet, Namespace: "shop", Name: "db", Generation: 2}
	_, s := judge([]any{sts}, target, now, DefaultGrace)
	assert.True(t, s.done, "a partitioned update is done once the pods above the partition are updated")

	sts.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	_, s = judge([]any{sts}, target, now, DefaultGrace)
	assert.True(t, s.done)
	assert.Contains(t, s.progress, "updateStrategy OnDelete")

	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop", UID: "ds", Generation: 4},
		Spec:       appsv1.DaemonSetSpec{Template: template("example.com/agent:2")},
		Status:     appsv1.DaemonSetStatus{ObservedGeneration: 4, DesiredNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberAvailable: 2, NumberReady: 2},
	}
	rev := func(n int64, image string) *appsv1.ControllerRevision {
		raw := `{"spec":{"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"` + image + `"}]},"$patch":"replace"}}}`
		return &appsv1.ControllerRevision{
			ObjectMeta: metav1.ObjectMeta{Name: "agent-" + string(rune('0'+n)), Namespace: "shop",
				Labels:          map[string]string{appsv1.DefaultDaemonSetUniqueLabelKey: "h" + string(rune('0'+n))},
				OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet", Name: "agent", UID: "ds", Controller: ptr.To(true)}}},
			Revision: n, Data: runtime.RawExtension{Raw: []byte(raw)},
		}
	}
	dt := Target{Kind: DaemonSet, Namespace: "shop", Name: "agent", Generation: 4}
	objs := []any{ds, rev(1, "example.com/agent:1"), rev(2, "example.com/agent:2")}
	_, s = judge(objs, dt, now, DefaultGrace)
	assert.False(t, s.done, "one agent is not available yet")
	assert.Equal(t, "3 of 3 updated, 2 available", s.progress)
	assert.Equal(t, []ImageChange{{Container: "app", Old: "example.com/agent:1", New: "example.com/agent:2"}}, s.images)
	ds.Status.NumberAvailable = 3
	_, s = judge(objs, dt, now, DefaultGrace)
	assert.True(t, s.done)

	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop", UID: "job"},
		Spec:       batchv1.JobSpec{Template: template("example.com/shop:2")},
		Status: batchv1.JobStatus{
			Conditions:              []batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue}},
			UncountedTerminatedPods: &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"p1"}},
		},
	}
	_, s = judge([]any{job}, Target{Kind: Job, Namespace: "shop", Name: "migrate"}, now, DefaultGrace)
	assert.True(t, s.done, "SuccessCriteriaMet comes before Complete")
	assert.Equal(t, int32(1), s.replicas.Ready, "a succeeded pod not yet counted")

	_, s = judge(nil, Target{Kind: Job, Namespace: "shop", Name: "gone"}, now, DefaultGrace)
	require.NotNil(t, s.cause)
	assert.Equal(t, Deleted, s.cause.Reason)
}

func TestDescribeProbe(t *testing.T) {
	for _, tc := range []struct {
		probe *corev1.Probe
		want  string
	}{
		{nil, "none defined"},
		{&corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8443), Scheme: corev1.URISchemeHTTPS}}}, "HTTP GET https://:8443/ready"},
		{&corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString("pg")}}}, "TCP :pg"},
		{&corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}}, "gRPC :9090"},
		{&corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"pg_isready", "-U", "shop"}}}}, `exec ["pg_isready" "-U" "shop"]`},
	} {
		assert.Equal(t, tc.want, describeProbe(tc.probe))
	}
}

func TestPodRequest(t *testing.T) {
	p := &corev1.Pod{Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("3Gi")}}}},
		Containers: []corev1.Container{
			{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourceCPU: resource.MustParse("500m")}}},
			{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi"), corev1.ResourceCPU: resource.MustParse("250m")}}},
		},
	}}
	assert.Equal(t, "750m", podRequest(p, corev1.ResourceCPU))
	assert.Equal(t, "3Gi", podRequest(p, corev1.ResourceMemory), "the largest init container counts when it asks for more")
	assert.Equal(t, "0 (none set)", podRequest(p, corev1.ResourceEphemeralStorage))
}
