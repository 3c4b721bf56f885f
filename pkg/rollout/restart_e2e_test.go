package rollout_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// lockedBuffer is a log two goroutines can share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestVerdictSurvivesAPIServerRestart restarts the API server while two watches
// wait for verdicts that take a while: a release that never becomes ready (the
// grace runs out after the restart) and a healthy one that becomes available
// only after minReadySeconds. The informers re-list and re-watch; the verdicts
// are the ones without a restart. Not parallel: the restart would break the
// other tests' requests.
func TestVerdictSurvivesAPIServerRestart(t *testing.T) {
	c := rollouttest.Cluster(t)
	cp := c.RequireControlPlane(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)

	unready := rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("unready", "example.com/shop:1", 1))
	slowD := rollouttest.Deployment("slow", "example.com/shop:1", 1)
	slowD.Spec.MinReadySeconds = 12
	slow := rollouttest.Create(t, c.Client, ns, slowD)
	v := rollouttest.Watch(t, c.Client, nil, unready, slow)
	require.Equal(t, rollout.Succeeded, v.Outcome, "%v", v.Err())

	unready = rollouttest.UpdateTemplate(t, c.Client, unready, func(p *corev1.PodTemplateSpec) {
		p.Spec.Containers[0].Image = kubetest.Image(kubetest.Unready, "2")
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
			TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1, FailureThreshold: 1}
	})
	slow = rollouttest.UpdateTemplate(t, c.Client, slow, rollouttest.SetImage("example.com/shop:2"))

	type result struct {
		v   *rollout.Verdict
		err error
		at  time.Time
	}
	watch := func(target rollout.Target, log *lockedBuffer) <-chan result {
		out := make(chan result, 1)
		w, err := rollout.New(c.Client, rollout.WithGrace(12*time.Second), rollout.WithLog(log))
		require.NoError(t, err)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), rollouttest.Timeout)
			defer cancel()
			v, err := w.Watch(ctx, target)
			out <- result{v, err, time.Now()}
		}()
		return out
	}
	var unreadyLog, slowLog lockedBuffer
	unreadyDone, slowDone := watch(unready, &unreadyLog), watch(slow, &slowLog)
	kubetest.Poll(t, 10*time.Second, "both watches to start", func(context.Context) (bool, error) {
		return unreadyLog.String() != "" && slowLog.String() != "", nil
	})
	require.NoError(t, cp.RestartAPIServer(context.Background()))
	restarted := time.Now()

	u, s := <-unreadyDone, <-slowDone
	t.Logf("unready:\n%s\nslow:\n%s", unreadyLog.String(), slowLog.String())
	require.NoError(t, u.err)
	require.NoError(t, s.err)
	assert.True(t, u.at.After(restarted) && s.at.After(restarted), "both verdicts come after the restart")

	require.Equal(t, rollout.Failed, u.v.Outcome)
	assert.Equal(t, rollout.ReadinessProbe, u.v.Workloads[0].Cause.Reason)
	assert.Contains(t, u.v.Workloads[0].Cause.Message, "Readiness probe failed: dial tcp ")
	require.Equal(t, rollout.Succeeded, s.v.Outcome, "%v", s.v.Err())
	assert.GreaterOrEqual(t, s.v.Workloads[0].TimeToReady, 12*time.Second, "minReadySeconds")
}

// TestAccessErrors: what the watch says when it may not read what it needs, when
// the cluster does not answer, and when the target does not exist.
func TestAccessErrors(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	target := rollouttest.Create(t, c.Client, ns, rollouttest.Deployment("web", "example.com/shop:1", 1))

	// "limited" may read the Deployment, its ReplicaSets and events, not its
	// pods.
	_, err := c.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "limited"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"get", "list", "watch"}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "limited"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "limited"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "limited"}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	as := func(user string) kubernetes.Interface {
		cfg := rest.CopyConfig(c.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		client, err := kubernetes.NewForConfig(cfg)
		require.NoError(t, err)
		return client
	}
	watch := func(client kubernetes.Interface, target rollout.Target) error {
		w, err := rollout.New(client, rollout.WithTimeout(30*time.Second))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), rollouttest.Timeout)
		defer cancel()
		v, err := w.Watch(ctx, target)
		assert.Nil(t, v)
		return err
	}

	var access *rollout.AccessError
	// RBAC may take a moment to see the new binding.
	kubetest.Poll(t, 10*time.Second, "the watch to be refused the pods", func(context.Context) (bool, error) {
		err := watch(as("limited"), target)
		return errors.As(err, &access) && access.Resource == "pods", err
	})
	assert.Equal(t, "list", access.Verb)
	assert.Equal(t, ns, access.Namespace)
	assert.Contains(t, access.Error(), `list pods in namespace "`+ns+`" is forbidden (`)
	assert.Contains(t, access.Error(), `User "limited" cannot list resource "pods"`)
	assert.Contains(t, access.Error(), "grant the deploying identity get, list and watch on pods in that namespace")

	err = watch(as("nobody"), target)
	require.ErrorAs(t, err, &access)
	assert.Equal(t, "get", access.Verb)
	assert.Equal(t, "deployments", access.Resource)

	unreachable, err := kubernetes.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1", Timeout: 5 * time.Second})
	require.NoError(t, err)
	err = watch(unreachable, target)
	var down *rollout.UnreachableError
	require.ErrorAs(t, err, &down)
	assert.Contains(t, err.Error(), "cannot reach the Kubernetes API server (")
	assert.Contains(t, err.Error(), "connection refused")

	err = watch(c.Client, rollout.Target{Kind: rollout.Deployment, Namespace: ns, Name: "missing"})
	require.Error(t, err)
	assert.Equal(t, "deployment/missing in namespace "+ns+": not found; the rollout watch follows the workloads the apply wrote: check their kind, name and namespace", err.Error())
}
