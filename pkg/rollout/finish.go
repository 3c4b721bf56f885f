package rollout

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// logTimeout bounds the fetch of a crashed container's logs: the verdict must
// not wait on a slow kubelet.
const logTimeout = 10 * time.Second

func (w *Watcher) verdict(ctx context.Context, targets []Target, statuses []status, readyAt []time.Time, started, now time.Time, stores map[string]*store) *Verdict {
	v := &Verdict{Outcome: Succeeded, Started: started, Duration: now.Sub(started)}
	timedOut := !now.Before(started.Add(w.o.timeout))
	for i, t := range targets {
		s := statuses[i]
		wl := Workload{Target: t, Images: s.images, Replicas: s.replicas}
		switch {
		case s.cause != nil:
			wl.State, wl.Cause = Broken, s.cause
			if s.logs != nil && w.o.logLines > 0 {
				w.addLogs(ctx, wl.Cause, s.logs)
			}
			if s.cause.Reason == Unschedulable && strings.Contains(s.cause.Fix, taintFix) {
				w.addTaints(ctx, s.cause, stores[t.Namespace], t.Namespace)
			}
		case s.done:
			wl.State, wl.TimeToReady = Ready, readyAt[i].Sub(started)
		case timedOut:
			wl.State, wl.Cause = Broken, w.deadlineCause(t, s)
		default:
			wl.State = Pending
		}
		if wl.State == Broken {
			v.Outcome = Failed
		}
		wl.Commands = commands(t, s, wl.Cause)
		v.Workloads = append(v.Workloads, wl)
	}
	return v
}

func (w *Watcher) deadlineCause(t Target, s status) *Cause {
	c := &Cause{
		Reason:  DeadlineExceeded,
		Message: fmt.Sprintf("%s did not roll out within %s: %s", t.Ref(), w.o.timeout, s.progress),
		Pods:    s.pods,
		Fix: "no pod failed outright: the new pods are slow to become ready, or wait for something (the events say what); " +
			"if the application needs longer to start, raise " + w.o.names.Of(FieldTimeout),
	}
	if strings.HasPrefix(s.progress, "waiting for the controller") {
		c.Fix = "the workload's controller never saw the change: check that kube-controller-manager runs and that the API server is healthy"
	}
	hints := s.hints
	if len(hints) > 3 {
		hints = hints[len(hints)-3:]
	}
	if len(hints) > 0 {
		c.Message += "; " + strings.Join(hints, "; ")
	}
	return c
}

// addLogs puts the last lines of the failed container into the cause, or says
// there are none: kwok's pods, a container that never wrote, a kubelet the API
// server cannot reach.
func (w *Watcher) addLogs(ctx context.Context, c *Cause, r *logRequest) {
	lines, why := w.fetchLogs(ctx, r)
	if len(lines) > 0 {
		c.Logs = lines
		return
	}
	c.Message += "; " + NoLogs
	if why != "" {
		c.Message += " (" + why + ")"
	}
}

func (w *Watcher) fetchLogs(ctx context.Context, r *logRequest) ([]string, string) {
	ctx, cancel := context.WithTimeout(ctx, logTimeout)
	defer cancel()
	tail := int64(w.o.logLines)
	limit := int64(64 << 10)
	body, err := w.client.CoreV1().Pods(r.namespace).GetLogs(r.pod, &corev1.PodLogOptions{
		Container: r.container, Previous: r.previous, TailLines: &tail, LimitBytes: &limit,
	}).DoRaw(ctx)
	if err != nil {
		return nil, logError(err)
	}
	text := strings.TrimRight(string(body), "\n")
	if strings.TrimSpace(text) == "" {
		return nil, "the container wrote nothing"
	}
	lines := strings.Split(text, "\n")
	if len(lines) > w.o.logLines {
		lines = lines[len(lines)-w.o.logLines:]
	}
	return lines, ""
}

// addTaints names the taints that keep a pod off the nodes, which the
// scheduler's message no longer does. Listing nodes needs a cluster-wide
// permission a deploy identity often lacks: then the cause stays as it is.
func (w *Watcher) addTaints(ctx context.Context, c *Cause, s *store, namespace string) {
	if len(c.Pods) == 0 || s == nil {
		return
	}
	pod := get[corev1.Pod](s.pods, namespace, c.Pods[0])
	if pod == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, logTimeout)
	defer cancel()
	nodes, err := w.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	if taints := untolerated(pod, nodes.Items); len(taints) > 0 {
		c.Fix = strings.Replace(c.Fix, taintFix, fmt.Sprintf(
			"nodes carry taints the pod does not tolerate (%s): add tolerations for them, or target other nodes", strings.Join(taints, ", ")), 1)
	}
}

// untolerated lists the distinct scheduling taints of the nodes that the pod
// does not tolerate, as "key=value:Effect".
func untolerated(p *corev1.Pod, nodes []corev1.Node) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range nodes {
		for i := range n.Spec.Taints {
			taint := &n.Spec.Taints[i]
			if taint.Effect == corev1.TaintEffectPreferNoSchedule {
				continue
			}
			tolerated := false
			for j := range p.Spec.Tolerations {
				tolerated = tolerated || p.Spec.Tolerations[j].ToleratesTaint(klog.Background(), taint, false)
			}
			if s := taint.ToString(); !tolerated && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
}

// logError says in a few words why the API server gave no logs.
func logError(err error) string {
	switch {
	case apierrors.IsBadRequest(err):
		return "the API server refused: " + clip(err.Error(), 200)
	case apierrors.IsNotFound(err):
		return "the pod is gone"
	case apierrors.IsForbidden(err):
		return "get on pods/log is forbidden"
	case apierrors.IsInternalError(err), apierrors.ReasonForError(err) == metav1.StatusReasonUnknown:
		return "the API server could not get them from the node"
	}
	return clip(err.Error(), 200)
}
