package rollback

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// recorder is a rollout.Interface that records what it is asked to watch and
// answers with a success.
type recorder struct{ watched [][]rollout.Target }

func (r *recorder) Watch(_ context.Context, targets ...rollout.Target) (*rollout.Verdict, error) {
	r.watched = append(r.watched, targets)
	v := &rollout.Verdict{Outcome: rollout.Succeeded}
	for _, t := range targets {
		v.Workloads = append(v.Workloads, rollout.Workload{Target: t, State: rollout.Ready})
	}
	return v, nil
}

func TestPick(t *testing.T) {
	target := func(prev int64) Target {
		return Target{Target: rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web"}, Previous: prev}
	}
	for _, tc := range []struct {
		name     string
		previous int64
		current  int64
		kept     []int64
		want     int64
		action   Action
		message  string
	}{
		{"the recorded revision", 3, 5, []int64{1, 3, 4, 5}, 3, "", ""},
		{"the one before, when none was recorded", 0, 5, []int64{1, 3, 4, 5}, 4, "", ""},
		{"a first deploy", FirstDeploy, 1, []int64{1}, 0, NothingToRollBackTo,
			"first deploy, nothing to roll back to: deployment/web did not exist before this deploy and is left as it is (kubectl -n shop delete deployment/web removes it)"},
		{"a single revision", 0, 1, []int64{1}, 0, NothingToRollBackTo, "first deploy, nothing to roll back to: deployment/web has no revision before 1"},
		{"a revision no longer kept", 2, 5, []int64{4, 5}, 0, NothingToRollBackTo,
			"nothing to roll back to: revision 2 of deployment/web, live before the deploy, is no longer kept (revisionHistoryLimit)"},
		{"no new revision", 5, 5, []int64{4, 5}, 0, Unchanged,
			"revision 5, the one before the deploy, is still the live one: the deploy did not change the pod template, so there is nothing to restore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, none := pick(target(tc.previous), tc.current, tc.kept)
			assert.Equal(t, tc.want, got)
			if tc.action == "" {
				assert.Nil(t, none)
				return
			}
			require.NotNil(t, none)
			assert.Equal(t, tc.action, none.Action)
			assert.Equal(t, tc.message, none.Message)
		})
	}
}

func owned(owner types.UID, kind string) []metav1.OwnerReference {
	return []metav1.OwnerReference{{Kind: kind, Name: "web", UID: owner, Controller: ptr.To(true)}}
}

func shop() []runtime.Object {
	labels := map[string]string{"app": "web"}
	tmpl := func(image, hash string) corev1.PodTemplateSpec {
		l := map[string]string{"app": "web"}
		if hash != "" {
			l[appsv1.DefaultDeploymentUniqueLabelKey] = hash
		}
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: l}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
	}
	failed := tmpl("example.com/shop:2", "")
	failed.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "missing"}}}}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "d", Generation: 2, Annotations: map[string]string{rollout.RevisionAnnotation: "2"}},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: failed},
	}
	rs := func(name, rev, image, hash string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: hash},
				Annotations: map[string]string{rollout.RevisionAnnotation: rev}, OwnerReferences: owned("d", "Deployment")},
			Spec: appsv1.ReplicaSetSpec{Template: tmpl(image, hash)},
		}
	}
	other := rs("other-1", "1", "example.com/other:9", "o1")
	other.OwnerReferences = owned("someone-else", "Deployment")
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop"}}
	return []runtime.Object{d, rs("web-a1", "1", "example.com/shop:1", "a1"), rs("web-b2", "2", "example.com/shop:2", "b2"), other, job}
}

func TestRollbackDeploymentRestoresTheWholeTemplate(t *testing.T) {
	client := fake.NewClientset(shop()...)
	rec := &recorder{}
	r, err := New(client, rec, WithFieldManager("deploy-action"))
	require.NoError(t, err)
	web := rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web", Generation: 2}
	job := rollout.Target{Kind: rollout.Job, Namespace: "shop", Name: "migrate"}
	res, err := r.Rollback(context.Background(), Target{Target: web, Previous: 1}, Target{Target: job, Previous: FirstDeploy})
	require.NoError(t, err)

	require.Len(t, res.Workloads, 2)
	w := res.Workloads[0]
	assert.Equal(t, Restored, w.Action)
	assert.Equal(t, int64(2), w.From)
	assert.Equal(t, int64(1), w.To)
	assert.Equal(t, []rollout.ImageChange{{Container: "app", Old: "example.com/shop:2", New: "example.com/shop:1"}}, w.Images)
	assert.Equal(t, "restored the template of revision 1 (ReplicaSet web-a1)", w.Message)
	assert.Equal(t, Skipped, res.Workloads[1].Action)

	d, err := client.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "example.com/shop:1", d.Spec.Template.Spec.Containers[0].Image)
	assert.Empty(t, d.Spec.Template.Spec.Containers[0].EnvFrom, "what revision 2 added goes too")
	assert.Equal(t, map[string]string{"app": "web"}, d.Spec.Template.Labels, "without the ReplicaSet's pod-template-hash")

	require.Len(t, rec.watched, 1, "the restore is watched")
	assert.Equal(t, []rollout.Target{{Kind: rollout.Deployment, Namespace: "shop", Name: "web", Generation: d.Generation}}, rec.watched[0])
	assert.True(t, res.RolledBack())
	assert.NoError(t, res.Err())
	assert.Equal(t, "| Workload | Namespace | Revision | Image | Rollback | Restore |\n| --- | --- | --- | --- | --- | --- |\n"+
		"| `deployment/web` | shop | 2 → 1 | example.com/shop:2 → example.com/shop:1 | restored the template of revision 1 (ReplicaSet web-a1) | ready |\n"+
		"| `job/migrate` | shop |  |  | a Job has no revisions to roll back to; it is kept for inspection (kubectl -n shop logs job/migrate). "+
		"The next deploy that changes its pod template replaces it, as finished Jobs are replaced; to run the same template again, delete it first (kubectl -n shop delete job/migrate) |  |\n",
		res.Markdown())
}

func TestRollbackWithNothingToRestoreWatchesNothing(t *testing.T) {
	objs := shop()
	objs[0].(*appsv1.Deployment).Spec.Paused = true
	client := fake.NewClientset(objs...)
	rec := &recorder{}
	r, err := New(client, rec)
	require.NoError(t, err)
	res, err := r.Rollback(context.Background(), Target{Target: rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web"}})
	require.NoError(t, err)
	assert.Equal(t, Skipped, res.Workloads[0].Action)
	assert.Contains(t, res.Workloads[0].Message, "is paused")
	assert.Empty(t, rec.watched)
	assert.Nil(t, res.Verdict)
	assert.False(t, res.RolledBack())
}

func TestRollbackErrors(t *testing.T) {
	client := fake.NewClientset()
	_, err := New(nil, &recorder{})
	assert.EqualError(t, err, "rollback.New: nil Kubernetes client")
	_, err = New(client, nil)
	assert.EqualError(t, err, "rollback.New: nil rollout watcher")
	_, err = New(client, &recorder{}, WithFieldManager(" "))
	assert.EqualError(t, err, `rollback.WithFieldManager: " " is not a field manager name; use a short non-empty name such as "deploy-action"`)
	_, err = New(client, &recorder{}, WithLog(nil))
	assert.EqualError(t, err, "rollback.WithLog: nil writer")

	r, err := New(client, &recorder{})
	require.NoError(t, err)
	_, err = r.Rollback(context.Background())
	assert.EqualError(t, err, "rollback: no workloads to roll back")
	_, err = r.Rollback(context.Background(), Target{Target: rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "gone"}})
	assert.EqualError(t, err, `rolling back deployment/gone in namespace shop: deployments.apps "gone" not found`)
}

func TestRevision(t *testing.T) {
	ctx := context.Background()
	rev := func(name string, n int64, owner types.UID) *appsv1.ControllerRevision {
		return &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web"},
			OwnerReferences: owned(owner, "StatefulSet")}, Revision: n}
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	client := fake.NewClientset(append(shop(),
		&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop", UID: "sts"}, Spec: appsv1.StatefulSetSpec{Selector: sel},
			Status: appsv1.StatefulSetStatus{CurrentRevision: "db-2", UpdateRevision: "db-3"}},
		&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop", UID: "ds"}, Spec: appsv1.DaemonSetSpec{Selector: sel}},
		rev("db-1", 1, "sts"), rev("db-2", 2, "sts"), rev("db-3", 3, "sts"), rev("agent-1", 1, "ds"), rev("agent-2", 6, "ds"),
	)...)
	for _, tc := range []struct {
		kind rollout.Kind
		name string
		want int64
	}{
		{rollout.Deployment, "web", 2},
		{rollout.Deployment, "new", FirstDeploy},
		{rollout.StatefulSet, "db", 2},
		{rollout.DaemonSet, "agent", 6},
		{rollout.Job, "migrate", 0},
		{rollout.Job, "migrate-2", FirstDeploy},
	} {
		got, err := Revision(ctx, client, tc.kind, "shop", tc.name)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%s/%s", tc.kind, tc.name)
	}
	_, err := Revision(ctx, client, "CronJob", "shop", "x")
	assert.EqualError(t, err, `rollback: "CronJob" is not a kind with revisions; use Deployment, StatefulSet, DaemonSet or Job`)
}

// TestRollbackOfAnAppliedDeployment: a Deployment the manager server-side
// applies is restored by an apply, so that its fields stay with the manager's
// applied configuration: the next apply changes the image without conflict.
func TestRollbackOfAnAppliedDeployment(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(shop()[1:]...) // the ReplicaSets; the Deployment is applied
	apply := func(image string, env ...*corev1ac.EnvVarApplyConfiguration) error {
		_, err := client.AppsV1().Deployments("shop").Apply(ctx, appsv1ac.Deployment("web", "shop").
			WithAnnotations(map[string]string{rollout.RevisionAnnotation: "2"}).
			WithSpec(appsv1ac.DeploymentSpec().
				WithSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"app": "web"})).
				WithTemplate(corev1ac.PodTemplateSpec().WithLabels(map[string]string{"app": "web"}).
					WithSpec(corev1ac.PodSpec().WithContainers(corev1ac.Container().WithName("app").WithImage(image).WithEnv(env...))))),
			metav1.ApplyOptions{FieldManager: "deploy-action"})
		return err
	}
	require.NoError(t, apply("example.com/shop:2", corev1ac.EnvVar().WithName("FEATURE").WithValue("on")))
	d, err := client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	require.True(t, appliedBy(d, "deploy-action"), "the in-memory server tracks managed fields: %v", d.ManagedFields)
	// The in-memory server has no controllers: own the ReplicaSets as the
	// Deployment controller would.
	for _, name := range []string{"web-a1", "web-b2"} {
		rs, err := client.AppsV1().ReplicaSets("shop").Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		rs.OwnerReferences = owned(d.UID, "Deployment")
		_, err = client.AppsV1().ReplicaSets("shop").Update(ctx, rs, metav1.UpdateOptions{})
		require.NoError(t, err)
	}

	r, err := New(client, &recorder{})
	require.NoError(t, err)
	res, err := r.Rollback(ctx, Target{Target: rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web"}, Previous: 1})
	require.NoError(t, err)
	assert.Equal(t, "restored the template of revision 1 (ReplicaSet web-a1)", res.Workloads[0].Message)
	d, err = client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "example.com/shop:1", d.Spec.Template.Spec.Containers[0].Image)
	assert.Empty(t, d.Spec.Template.Spec.Containers[0].Env)
	require.NotEmpty(t, d.ManagedFields)
	for _, m := range d.ManagedFields {
		assert.Equal(t, metav1.ManagedFieldsOperationApply, m.Operation, "no update owns fields: %s", m.Manager)
	}
	assert.NoError(t, apply("example.com/shop:3"), "the next release applies without forcing")
}
