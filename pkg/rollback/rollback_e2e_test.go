package rollback_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/pkg/rollback"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

const good = "example.com/shop:1"

// release runs a deploy's last two steps as the deploy stage does: watch the
// changed workloads, and on failure roll them back to the revisions recorded
// before the apply.
type release struct {
	t       *testing.T
	client  kubernetes.Interface
	watcher *rollout.Watcher
	log     bytes.Buffer
}

func newRelease(t *testing.T, client kubernetes.Interface, opts ...rollout.Option) *release {
	r := &release{t: t, client: client}
	w, err := rollout.New(client, append([]rollout.Option{rollout.WithLog(&r.log)}, opts...)...)
	require.NoError(t, err)
	r.watcher = w
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("watch log:\n%s", r.log.String())
		}
	})
	return r
}

func (r *release) watch(targets ...rollout.Target) *rollout.Verdict {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rolloutTest)
	defer cancel()
	v, err := r.watcher.Watch(ctx, targets...)
	require.NoError(r.t, err)
	return v
}

func (r *release) previous(t rollout.Target) rollback.Target {
	r.t.Helper()
	prev, err := rollback.Revision(context.Background(), r.client, t.Kind, t.Namespace, t.Name)
	require.NoError(r.t, err)
	return rollback.Target{Target: t, Previous: prev}
}

func (r *release) rollback(targets ...rollback.Target) *rollback.Result {
	r.t.Helper()
	rb, err := rollback.New(r.client, r.watcher, rollback.WithLog(&r.log))
	require.NoError(r.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), rolloutTest)
	defer cancel()
	res, err := rb.Rollback(ctx, targets...)
	require.NoError(r.t, err)
	return res
}

const rolloutTest = rollouttest.Timeout

// TestFailuresAreExplainedAndRolledBack deploys a healthy revision 1, then a
// revision 2 with each failure a release meets: the watch names the cause, the
// rollback restores revision 1, and the restore is itself watched to Ready.
func TestFailuresAreExplainedAndRolledBack(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	kubelet := rollouttest.StartKubelet(t, c.Client)

	both := func(changes ...func(*corev1.PodTemplateSpec)) func(*corev1.PodTemplateSpec) {
		return func(p *corev1.PodTemplateSpec) {
			for _, f := range changes {
				f(p)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, ns string)
		change  func(*corev1.PodTemplateSpec)
		opts    []rollout.Option
		reason  rollout.Reason
		message []string
		fix     string
	}{
		{
			name:   "image pull",
			change: rollouttest.SetImage(kubetest.Image(kubetest.PullError, "2")),
			reason: rollout.ImagePull,
			message: []string{`container "app" of pod web-`, `cannot pull image "example.com/pull-error:2" from example.com (`,
				`example.com/pull-error:2: not found`},
			fix: "the tag does not exist in example.com/pull-error: push the image first",
		},
		{
			name:    "crash loop",
			change:  rollouttest.SetImage(kubetest.Image(kubetest.Crash, "2")),
			reason:  rollout.CrashLoop,
			message: []string{`container "app" of pod web-`, "exited with code 1 (Error)", rollout.NoLogs},
			fix:     "the application fails as it starts",
		},
		{
			name: "out of memory",
			change: both(rollouttest.SetImage(kubetest.Image(kubetest.OOM, "2")), func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
			}),
			reason:  rollout.OOMKilled,
			message: []string{"was killed for using more than its memory limit of 64Mi (OOMKilled, exit code 137)", rollout.NoLogs},
			fix:     "raise resources.limits.memory (now 64Mi)",
		},
		{
			name: "never ready",
			change: both(rollouttest.SetImage(kubetest.Image(kubetest.Unready, "2")), func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}},
					PeriodSeconds: 1, FailureThreshold: 1,
				}
			}),
			opts:   []rollout.Option{rollout.WithGrace(3 * time.Second)},
			reason: rollout.ReadinessProbe,
			message: []string{"runs but is not ready after", "readiness probe HTTP GET :8080/healthz",
				"Readiness probe failed: HTTP probe failed with statuscode: 503"},
			fix: "the readiness probe must answer with success",
		},
		{
			name: "unschedulable",
			change: func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].Resources = kubetest.Unschedulable()
			},
			reason:  rollout.Unschedulable,
			message: []string{"cannot be scheduled: 0/", "3 Insufficient cpu."},
			fix: "no node has enough cpu free for the pod's request of 1k: lower resources.requests.cpu or add nodes with more cpu; " +
				"nodes carry taints the pod does not tolerate (" + rollouttest.KubeletTaint + "=true:NoSchedule)",
		},
		{
			name: "missing Secret in envFrom",
			change: both(kubelet.OnNode(), func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "shop-db"}}}}
			}),
			reason:  rollout.ConfigError,
			message: []string{`cannot start: the Secret "shop-db" does not exist in namespace`, `(secret "shop-db" not found)`},
			fix:     `create the Secret "shop-db" in namespace`,
		},
		{
			name: "missing key in a secretKeyRef",
			setup: func(t *testing.T, ns string) {
				_, err := c.Client.CoreV1().Secrets(ns).Create(context.Background(), &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Name: "shop-db"}, StringData: map[string]string{"user": "shop"},
				}, metav1.CreateOptions{})
				require.NoError(t, err)
			},
			change: both(kubelet.OnNode(), func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "shop-db"}, Key: "password"}}}}
			}),
			reason:  rollout.ConfigError,
			message: []string{`the Secret shop-db has no key "password"`},
			fix:     `add the key "password" to the Secret shop-db`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			if tc.setup != nil {
				tc.setup(t, ns)
			}
			r := newRelease(t, c.Client, tc.opts...)
			web := rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("web", good, 2))
			require.Equal(t, rollout.Succeeded, r.watch(web).Outcome, "revision 1 rolls out")

			prev := r.previous(web)
			assert.Equal(t, int64(1), prev.Previous)
			web = rollouttest.UpdateTemplate(t, c.Client, web, tc.change)
			began := time.Now()
			v := r.watch(web)
			t.Logf("verdict in %s", time.Since(began).Round(time.Millisecond))
			require.Equal(t, rollout.Failed, v.Outcome)
			w := v.Workloads[0]
			require.Equal(t, rollout.Broken, w.State)
			require.NotNil(t, w.Cause)
			assert.Equal(t, tc.reason, w.Cause.Reason, "%s", w.Cause.Message)
			for _, m := range tc.message {
				assert.Contains(t, w.Cause.Message, m)
			}
			assert.Contains(t, w.Cause.Fix, tc.fix)
			require.Len(t, w.Cause.Pods, 1)
			assert.Contains(t, w.Commands, "kubectl -n "+ns+" describe pod "+w.Cause.Pods[0])
			assert.Equal(t, good, w.Images[0].Old)
			assert.Error(t, v.Err())

			res := r.rollback(prev)
			require.Len(t, res.Workloads, 1)
			restore := res.Workloads[0]
			assert.Equal(t, rollback.Restored, restore.Action, restore.Message)
			assert.Equal(t, int64(2), restore.From)
			assert.Equal(t, int64(1), restore.To)
			assert.Equal(t, good, restore.Images[0].New)
			require.NotNil(t, res.Verdict)
			require.True(t, res.RolledBack(), "the restore rolls out: %v", res.Verdict.Err())
			assert.Equal(t, rollout.Ready, res.Verdict.Workloads[0].State)
			assert.NoError(t, res.Err())

			// What the cluster runs now is revision 1's template, as a third
			// revision, and only its pods.
			d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, good, d.Spec.Template.Spec.Containers[0].Image)
			assert.Empty(t, d.Spec.Template.Spec.NodeName)
			assert.Empty(t, d.Spec.Template.Spec.Containers[0].EnvFrom)
			assert.Equal(t, "3", d.Annotations[rollout.RevisionAnnotation])
			assert.Equal(t, int32(2), d.Status.AvailableReplicas)
			kubetest.Poll(t, rolloutTest, "only revision 1's pods", func(ctx context.Context) (bool, error) {
				pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
				if err != nil {
					return false, err
				}
				for _, p := range pods.Items {
					if p.Spec.Containers[0].Image != good || p.DeletionTimestamp != nil {
						return false, nil
					}
				}
				return len(pods.Items) == 2, nil
			})
		})
	}
}

// TestStatefulSetRolledBack: a StatefulSet whose revision 2 crash-loops is
// restored to revision 1; its broken pod, which the controller would wait on
// forever, is replaced.
func TestStatefulSetRolledBack(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	r := newRelease(t, c.Client)
	db := rollouttest.Create(t, c.Client, ns, rollouttest.StatefulSet("db", "example.com/postgres:16", 2))
	require.Equal(t, rollout.Succeeded, r.watch(db).Outcome)

	prev := r.previous(db)
	assert.Equal(t, int64(1), prev.Previous)
	db = rollouttest.UpdateTemplate(t, c.Client, db, rollouttest.SetImage(kubetest.Image(kubetest.Crash, "17")))
	v := r.watch(db)
	require.Equal(t, rollout.Failed, v.Outcome)
	w := v.Workloads[0]
	assert.Equal(t, rollout.CrashLoop, w.Cause.Reason)
	assert.Equal(t, []string{"db-1"}, w.Cause.Pods, "the highest ordinal is updated first")
	assert.Equal(t, []rollout.ImageChange{{Container: "app", Old: "example.com/postgres:16", New: "example.com/crash:17"}}, w.Images)

	res := r.rollback(prev)
	restore := res.Workloads[0]
	assert.Equal(t, rollback.Restored, restore.Action)
	assert.Equal(t, int64(2), restore.From)
	assert.Equal(t, int64(1), restore.To)
	assert.Contains(t, restore.Message, "deleted 1 pod(s) of the failed revision")
	require.True(t, res.RolledBack(), "%v", res.Err())

	sts, err := c.Client.AppsV1().StatefulSets(ns).Get(context.Background(), "db", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "example.com/postgres:16", sts.Spec.Template.Spec.Containers[0].Image)
	assert.Equal(t, sts.Status.CurrentRevision, sts.Status.UpdateRevision)
	assert.Equal(t, int32(2), sts.Status.ReadyReplicas)
	for _, name := range []string{"db-0", "db-1"} {
		p, err := c.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "example.com/postgres:16", p.Spec.Containers[0].Image, name)
	}
}

// TestDaemonSetRolledBack: a DaemonSet whose revision 2 cannot pull its image
// goes back to revision 1 on every node.
func TestDaemonSetRolledBack(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	r := newRelease(t, c.Client)
	agent := rollouttest.Create(t, c.Client, ns, rollouttest.DaemonSet("agent", "example.com/agent:1"))
	require.Equal(t, rollout.Succeeded, r.watch(agent).Outcome)
	prev := r.previous(agent)
	assert.Equal(t, int64(1), prev.Previous)

	agent = rollouttest.UpdateTemplate(t, c.Client, agent, rollouttest.SetImage(kubetest.Image(kubetest.PullError, "2")))
	v := r.watch(agent)
	require.Equal(t, rollout.Failed, v.Outcome)
	assert.Equal(t, rollout.ImagePull, v.Workloads[0].Cause.Reason)

	res := r.rollback(prev)
	assert.Equal(t, rollback.Restored, res.Workloads[0].Action)
	require.True(t, res.RolledBack(), "%v", res.Err())
	assert.Equal(t, int32(3), res.Verdict.Workloads[0].Replicas.Available, "one agent per node")
	ds, err := c.Client.AppsV1().DaemonSets(ns).Get(context.Background(), "agent", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "example.com/agent:1", ds.Spec.Template.Spec.Containers[0].Image)
}

// TestFailingMigrationJob: release 2 of the shop updates the Deployment and
// runs a migration Job that fails. The verdict names the Job's failure; the
// rollback restores the Deployment and says the Job cannot be rolled back.
func TestFailingMigrationJob(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	r := newRelease(t, c.Client)
	web := rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("web", good, 2))
	migrate1 := rollouttest.Create(t, c.Client, ns, rollouttest.Job("migrate-1", good))
	require.Equal(t, rollout.Succeeded, r.watch(web, migrate1).Outcome)

	prevWeb := r.previous(web)
	prevJob := r.previous(rollout.Target{Kind: rollout.Job, Namespace: ns, Name: "migrate-2"})
	assert.Equal(t, rollback.FirstDeploy, prevJob.Previous)
	web = rollouttest.UpdateTemplate(t, c.Client, web, rollouttest.SetImage("example.com/shop:2"))
	migrate2 := rollouttest.Create(t, c.Client, ns, rollouttest.Job("migrate-2", kubetest.Image(kubetest.Crash, "2")))
	prevJob.Target = migrate2

	v := r.watch(web, migrate2)
	require.Equal(t, rollout.Failed, v.Outcome)
	j := v.Workloads[1]
	require.Equal(t, rollout.Broken, j.State)
	assert.Equal(t, rollout.JobFailed, j.Cause.Reason)
	assert.Contains(t, j.Cause.Message, "job/migrate-2 failed (BackoffLimitExceeded)")
	assert.Contains(t, j.Cause.Message, "exited with code 1 (Error)")
	assert.Contains(t, j.Cause.Message, rollout.NoLogs)
	assert.Contains(t, j.Commands, "kubectl -n "+ns+" logs "+j.Cause.Pods[0]+" -c app")

	res := r.rollback(prevWeb, prevJob)
	require.Len(t, res.Workloads, 2)
	assert.Equal(t, rollback.Restored, res.Workloads[0].Action)
	assert.Equal(t, rollback.Skipped, res.Workloads[1].Action)
	assert.Contains(t, res.Workloads[1].Message, "a Job has no revisions to roll back to")
	require.True(t, res.RolledBack(), "%v", res.Err())
	require.Len(t, res.Verdict.Workloads, 1, "only the Deployment is watched")
	d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, good, d.Spec.Template.Spec.Containers[0].Image)
	assert.Contains(t, res.Markdown(), "| `job/migrate-2` | "+ns+" |  |  | a Job has no revisions to roll back to")
}

// TestFirstDeployHasNothingToRollBackTo: a workload the deploy created has no
// previous revision; the rollback says so and leaves it alone.
func TestFirstDeployHasNothingToRollBackTo(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	r := newRelease(t, c.Client)
	prev := r.previous(rollout.Target{Kind: rollout.Deployment, Namespace: ns, Name: "web"})
	require.Equal(t, rollback.FirstDeploy, prev.Previous)
	prev.Target = rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("web", kubetest.Image(kubetest.Crash, "1"), 1))

	v := r.watch(prev.Target)
	require.Equal(t, rollout.Failed, v.Outcome)
	assert.Equal(t, rollout.CrashLoop, v.Workloads[0].Cause.Reason)
	assert.Empty(t, v.Workloads[0].Images[0].Old, "no previous image")

	res := r.rollback(prev)
	assert.Equal(t, rollback.NothingToRollBackTo, res.Workloads[0].Action)
	assert.Contains(t, res.Workloads[0].Message, "first deploy, nothing to roll back to")
	assert.Nil(t, res.Verdict)
	assert.False(t, res.RolledBack())
	assert.NoError(t, res.Err())
	d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(1), d.Generation, "left as it is")

	// Without the record of the apply, the revision history says the same.
	prev.Previous = 0
	res = r.rollback(prev)
	assert.Equal(t, rollback.NothingToRollBackTo, res.Workloads[0].Action)
	assert.Contains(t, res.Workloads[0].Message, "first deploy, nothing to roll back to")
}
