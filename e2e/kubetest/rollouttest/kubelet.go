package rollouttest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// KubeletTaint keeps every pod off a Kubelet's node but those sent there by
// name (spec.nodeName), so that tests running alongside never land on it.
const KubeletTaint = "rollouttest.deploy-action/kubelet"

// Kubelet stands in for the kubelet of one node that kwok does not manage, for
// what kwok cannot simulate: a container whose Secret or ConfigMap is missing.
// It reports what a kubelet reports when it prepares the container's
// environment: the container waits in CreateContainerConfigError with the
// missing object in its message, and a Warning "Failed" event says
// "Error: <message>". Containers with everything they refer to run and are
// ready.
type Kubelet struct {
	// Node is the name of the node; put a pod there with spec.nodeName.
	Node   string
	client kubernetes.Interface
}

// StartKubelet registers a node and runs its kubelet until the test ends.
func StartKubelet(t testing.TB, client kubernetes.Interface) *Kubelet {
	t.Helper()
	k := &Kubelet{Node: "kubelet-" + rand.String(6), client: client}
	ctx, cancel := context.WithCancel(context.Background())
	capacity := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi"), corev1.ResourcePods: resource.MustParse("20"),
	}
	node, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: k.Node, Labels: map[string]string{"kubernetes.io/hostname": k.Node}},
		Spec:       corev1.NodeSpec{Taints: []corev1.Taint{{Key: KubeletTaint, Value: "true", Effect: corev1.TaintEffectNoSchedule}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	node.Status.Capacity, node.Status.Allocatable = capacity, capacity
	require.NoError(t, k.heartbeat(ctx, node))

	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if n, err := client.CoreV1().Nodes().Get(ctx, k.Node, metav1.GetOptions{}); err == nil {
					_ = k.heartbeat(ctx, n)
				}
			}
		}
	})
	wg.Go(func() { k.run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if err := client.CoreV1().Nodes().Delete(context.Background(), k.Node, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting node %s: %v", k.Node, err)
		}
	})
	return k
}

func (k *Kubelet) heartbeat(ctx context.Context, n *corev1.Node) error {
	capacity, allocatable := n.Status.Capacity, n.Status.Allocatable
	// The node controller writes the node too (taints, conditions): on a
	// conflict, post the status again on the node as it is now.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		now := metav1.Now()
		n.Status.Capacity, n.Status.Allocatable = capacity, allocatable
		n.Status.Conditions = []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", Message: "kubelet is posting ready status",
			LastHeartbeatTime: now, LastTransitionTime: now,
		}}
		_, err := k.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if latest, gerr := k.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{}); gerr == nil {
				*n = *latest
			}
		}
		return err
	})
}

// run follows the node's pods, re-watching after an error, until ctx ends.
func (k *Kubelet) run(ctx context.Context) {
	done := map[string]bool{}
	for ctx.Err() == nil {
		w, err := k.client.CoreV1().Pods("").Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("spec.nodeName", k.Node).String(),
		})
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Deleted {
				continue
			}
			if p.DeletionTimestamp != nil {
				// The kubelet confirms a deletion once the containers are gone.
				_ = k.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
				continue
			}
			if done[string(p.UID)] {
				continue
			}
			if err := k.start(ctx, p); err == nil {
				done[string(p.UID)] = true
			}
		}
		w.Stop()
	}
}

// start reports the pod's containers as the kubelet would once it has looked
// up what their environment refers to.
func (k *Kubelet) start(ctx context.Context, p *corev1.Pod) error {
	now := metav1.Now()
	var statuses []corev1.ContainerStatus
	var problem string
	for _, c := range p.Spec.Containers {
		st := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: ""}
		if msg := k.missing(ctx, p.Namespace, c); msg != "" {
			st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: msg}
			if problem == "" {
				problem = msg
				if err := k.event(ctx, p, c.Name, msg); err != nil {
					return err
				}
			}
		} else {
			st.Ready, st.Started = true, ptr.To(true)
			st.ContainerID = "containerd://" + rand.String(32)
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
		}
		statuses = append(statuses, st)
	}
	p.Status.ContainerStatuses = statuses
	p.Status.HostIP = "10.1.0.1"
	p.Status.StartTime = &now
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now}
		if !ok {
			c.Status, c.Reason = corev1.ConditionFalse, "ContainersNotReady"
		}
		return c
	}
	ok := problem == ""
	p.Status.Conditions = []corev1.PodCondition{
		cond(corev1.PodInitialized, true), cond(corev1.PodScheduled, true),
		cond(corev1.ContainersReady, ok), cond(corev1.PodReady, ok),
	}
	p.Status.Phase = corev1.PodPending
	if ok {
		p.Status.Phase = corev1.PodRunning
		p.Status.PodIP = "10.1.0.2"
	}
	_, err := k.client.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

// missing returns the kubelet's message for the first Secret, ConfigMap or key
// a container's environment refers to that does not exist.
func (k *Kubelet) missing(ctx context.Context, ns string, c corev1.Container) string {
	secret := func(name string) (*corev1.Secret, string) {
		s, err := k.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Sprintf("secret %q not found", name)
		}
		return s, ""
	}
	configMap := func(name string) (*corev1.ConfigMap, string) {
		m, err := k.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Sprintf("configmap %q not found", name)
		}
		return m, ""
	}
	for _, from := range c.EnvFrom {
		if r := from.SecretRef; r != nil && !ptr.Deref(r.Optional, false) {
			if _, msg := secret(r.Name); msg != "" {
				return msg
			}
		}
		if r := from.ConfigMapRef; r != nil && !ptr.Deref(r.Optional, false) {
			if _, msg := configMap(r.Name); msg != "" {
				return msg
			}
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			continue
		}
		if r := e.ValueFrom.SecretKeyRef; r != nil && !ptr.Deref(r.Optional, false) {
			s, msg := secret(r.Name)
			if msg != "" {
				return msg
			}
			if _, ok := s.Data[r.Key]; !ok {
				return fmt.Sprintf("couldn't find key %s in Secret %s/%s", r.Key, ns, r.Name)
			}
		}
		if r := e.ValueFrom.ConfigMapKeyRef; r != nil && !ptr.Deref(r.Optional, false) {
			m, msg := configMap(r.Name)
			if msg != "" {
				return msg
			}
			if _, ok := m.Data[r.Key]; !ok {
				return fmt.Sprintf("couldn't find key %s in ConfigMap %s/%s", r.Key, ns, r.Name)
			}
		}
	}
	return ""
}

// event records what the kubelet's recorder records for the failure.
func (k *Kubelet) event(ctx context.Context, p *corev1.Pod, container, msg string) error {
	now := metav1.Now()
	_, err := k.client.CoreV1().Events(p.Namespace).Create(ctx, &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: p.Name + "."},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "v1", Kind: "Pod", Namespace: p.Namespace, Name: p.Name, UID: p.UID,
			FieldPath: "spec.containers{" + container + "}",
		},
		Type: corev1.EventTypeWarning, Reason: "Failed", Message: "Error: " + msg,
		Source:         corev1.EventSource{Component: "kubelet", Host: k.Node},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "kubelet", ReportingInstance: k.Node,
	}, metav1.CreateOptions{})
	return err
}

// OnNode returns a change that sends a template's pods to the node by name.
func (k *Kubelet) OnNode() func(*corev1.PodTemplateSpec) {
	return func(p *corev1.PodTemplateSpec) {
		p.Spec.NodeName = k.Node
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: KubeletTaint, Operator: corev1.TolerationOpExists})
	}
}
