package rollout

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// memory is what a watch keeps between evaluations: since when a condition
// that may clear by itself (a pod not ready yet, pods refused) has lasted, by
// the watch's own clock.
type memory struct{ since map[string]time.Time }

func newMemory() *memory { return &memory{since: map[string]time.Time{}} }

// first returns when key was first seen, recording now if it never was.
func (m *memory) first(key string, now time.Time) time.Time {
	if t, ok := m.since[key]; ok {
		return t
	}
	m.since[key] = now
	return now
}

func (m *memory) forget(key string) { delete(m.since, key) }

// check is what an object says about its workload's rollout.
type check struct {
	cause *Cause
	// logs names the container whose last lines complete the cause.
	logs *logRequest
	// wake is when a grace runs out and the object must be looked at again.
	wake time.Time
	// hints are signs of trouble that are not failures (yet); a deadline
	// message repeats them.
	hints []string
}

func (c *check) add(o check) {
	if c.cause == nil && o.cause != nil {
		c.cause, c.logs = o.cause, o.logs
	}
	if !o.wake.IsZero() && (c.wake.IsZero() || o.wake.Before(c.wake)) {
		c.wake = o.wake
	}
	c.hints = append(c.hints, o.hints...)
}

type logRequest struct {
	namespace, pod, container string
	// previous asks for the instance before the current one: the container
	// crashed and is waiting to restart.
	previous bool
}

// classifier looks at the pods of a workload's new revision.
type classifier struct {
	now   time.Time
	grace time.Duration
	mem   *memory
	store *store
	// job: the pods belong to a Job, whose backoff limit decides when a
	// crash fails it; a Job's pods also need not be ready.
	job bool
}

// pod reports the first cause one pod shows, or when to look again.
func (c *classifier) pod(p *corev1.Pod) check {
	events := c.store.eventsAbout(p.UID, time.Time{})
	if p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" {
		return check{hints: []string{fmt.Sprintf("pod %s was evicted: %s", p.Name, p.Status.Message)}}
	}
	if cond := podCondition(p, corev1.PodScheduled); cond != nil && cond.Status == corev1.ConditionFalse &&
		cond.Reason == corev1.PodReasonUnschedulable {
		if e := lastEvent(events, "", "TriggeredScaleUp"); e != nil {
			return check{hints: []string{fmt.Sprintf("pod %s waits for a node the cluster autoscaler is adding: %s", p.Name, e.Message)}}
		}
		return check{cause: unschedulable(p, cond.Message, events)}
	}

	var out check
	for i := range p.Status.InitContainerStatuses {
		out.add(c.container(p, &p.Status.InitContainerStatuses[i], true, events))
	}
	for i := range p.Status.ContainerStatuses {
		out.add(c.container(p, &p.Status.ContainerStatuses[i], false, events))
	}
	if out.cause != nil {
		return out
	}
	// A volume that cannot mount keeps the pod in ContainerCreating, with no
	// container status to say why: only FailedMount events do. The kubelet
	// retries, and some of these clear by themselves (the namespace's
	// kube-root-ca.crt "not registered" yet, a Secret an operator is about to
	// write): a pod is stuck only once they have lasted the grace.
	key := "mount/" + string(p.UID)
	if e := lastEvent(events, corev1.EventTypeWarning, "FailedMount"); e != nil && creating(p) {
		since := c.mem.first(key, c.now)
		if c.now.Sub(since) >= c.grace {
			out.cause = configError(p, "", e.Message, events)
			return out
		}
		out.add(check{wake: since.Add(c.grace), hints: []string{fmt.Sprintf("pod %s cannot mount its volumes yet: %s", p.Name, clip(e.Message, 300))}})
		return out
	}
	c.mem.forget(key)
	return out
}

// creating reports whether no container of the pod has started yet.
func creating(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodPending {
		return false
	}
	for _, st := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if st.State.Running != nil || st.State.Terminated != nil {
			return false
		}
		if w := st.State.Waiting; w != nil && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
			return false
		}
	}
	return true
}

// The waiting reasons of the kubelet (pkg/kubelet/images, kuberuntime).
var pullReasons = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true,
	"ErrImageNeverPull": true, "RegistryUnavailable": true, "ErrImageInspect": true,
}

var startReasons = map[string]bool{
	"CreateContainerError": true, "RunContainerError": true,
	"PreStartHookError": true, "PostStartHookError": true, "PreCreateHookError": true,
}

func (c *classifier) container(p *corev1.Pod, st *corev1.ContainerStatus, init bool, events []*corev1.Event) check {
	spec := containerSpec(p, st.Name, init)
	mine := containerEvents(events, st.Name, init)
	key := string(p.UID) + "/" + st.Name

	if w := st.State.Waiting; w != nil {
		switch {
		case pullReasons[w.Reason]:
			return check{cause: imagePull(p, spec, st, mine)}
		case w.Reason == "CreateContainerConfigError":
			return check{cause: configError(p, st.Name, w.Message, mine)}
		case startReasons[w.Reason]:
			return check{cause: containerStart(p, st, mine)}
		}
	}

	term := st.State.Terminated
	previous := false
	// A container that crashed before but now runs and is ready recovered (a
	// dependency that came up late): only a crash that is not over counts.
	if term == nil && st.RestartCount > 0 && !(st.State.Running != nil && st.Ready) {
		term, previous = st.LastTerminationState.Terminated, true
	}
	if term != nil {
		logs := &logRequest{namespace: p.Namespace, pod: p.Name, container: st.Name, previous: previous}
		restartAlways := p.Spec.RestartPolicy == "" || p.Spec.RestartPolicy == corev1.RestartPolicyAlways
		if init && spec != nil && spec.RestartPolicy != nil && *spec.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			restartAlways = true // a sidecar
		} else if init && term.ExitCode == 0 {
			restartAlways = false // an init container that completed
		}
		failed := term.ExitCode != 0 || term.Reason == "OOMKilled" || (restartAlways && !c.job)
		if failed {
			if probe := lastProbeFailure(mine, "Liveness", "Startup"); probe != nil && st.RestartCount > 0 && term.Reason != "OOMKilled" {
				return check{cause: livenessFailure(p, spec, st, probe, mine), logs: logs}
			}
			if c.job {
				return check{hints: []string{crashMessage(p, st, term)}}
			}
			if term.Reason == "OOMKilled" {
				return check{cause: oomKilled(p, spec, st, term, mine), logs: logs}
			}
			return check{cause: crashLoop(p, st, term, mine), logs: logs}
		}
	}
	if w := st.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" && !c.job {
		return check{cause: &Cause{Reason: CrashLoop, Pods: []string{p.Name}, Container: st.Name,
			Message: fmt.Sprintf("container %q of pod %s is in CrashLoopBackOff: %s", st.Name, p.Name, w.Message),
			Fix:     exitFix(1), Events: warnings(p, mine)},
			logs: &logRequest{namespace: p.Namespace, pod: p.Name, container: st.Name, previous: true}}
	}

	if st.State.Running != nil && !st.Ready && !c.job && !(init && (spec == nil || spec.RestartPolicy == nil)) {
		since := c.mem.first(key, c.now)
		grace := c.graceFor(spec)
		if c.now.Sub(since) >= grace {
			return check{cause: notReady(p, spec, st, c.now.Sub(since), mine)}
		}
		hint := fmt.Sprintf("container %q of pod %s runs but is not ready", st.Name, p.Name)
		if probe := lastProbeFailure(mine, "Readiness", "Startup"); probe != nil {
			hint += ": " + probe.Message
		}
		return check{wake: since.Add(grace), hints: []string{hint}}
	}
	c.mem.forget(key)
	return check{}
}

// graceFor is how long a container may run unready: the watch's grace, or
// what its probes allow if that is longer.
func (c *classifier) graceFor(spec *corev1.Container) time.Duration {
	grace := c.grace
	if spec == nil {
		return grace
	}
	budget := func(p *corev1.Probe) time.Duration {
		if p == nil {
			return 0
		}
		period, threshold := p.PeriodSeconds, p.FailureThreshold
		if period == 0 {
			period = 10
		}
		if threshold == 0 {
			threshold = 3
		}
		return time.Duration(p.InitialDelaySeconds+period*threshold) * time.Second
	}
	if b := budget(spec.StartupProbe) + budget(spec.ReadinessProbe); b > grace {
		grace = b
	}
	return grace
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func containerSpec(p *corev1.Pod, name string, init bool) *corev1.Container {
	list := p.Spec.Containers
	if init {
		list = p.Spec.InitContainers
	}
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// containerEvents keeps the events about one container, and those about the
// whole pod.
func containerEvents(events []*corev1.Event, name string, init bool) []*corev1.Event {
	path := "spec.containers{" + name + "}"
	if init {
		path = "spec.initContainers{" + name + "}"
	}
	var out []*corev1.Event
	for _, e := range events {
		if e.InvolvedObject.FieldPath == "" || e.InvolvedObject.FieldPath == path {
			out = append(out, e)
		}
	}
	return out
}

// lastEvent returns the newest event with the reason (and type, if given).
func lastEvent(events []*corev1.Event, typ, reason string) *corev1.Event {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Reason == reason && (typ == "" || events[i].Type == typ) {
			return events[i]
		}
	}
	return nil
}

// lastProbeFailure returns the newest Unhealthy event of one of the probes
// ("Readiness", "Liveness", "Startup"), as the kubelet words them: "Readiness
// probe failed: HTTP probe failed with statuscode: 503".
func lastProbeFailure(events []*corev1.Event, probes ...string) *corev1.Event {
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Reason != "Unhealthy" {
			continue
		}
		for _, p := range probes {
			if strings.HasPrefix(e.Message, p+" probe") {
				return e
			}
		}
	}
	return nil
}

// warnings reduces an object's warning events (the last few) for a cause.
func warnings(p *corev1.Pod, events []*corev1.Event) []Event {
	const keep = 5
	var out []Event
	for _, e := range events {
		if e.Type != corev1.EventTypeWarning {
			continue
		}
		out = append(out, toEvent(e))
	}
	if len(out) > keep {
		out = out[len(out)-keep:]
	}
	return out
}

func toEvent(e *corev1.Event) Event {
	count := e.Count
	if e.Series != nil && e.Series.Count > count {
		count = e.Series.Count
	}
	return Event{
		Object:  strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name,
		Type:    e.Type,
		Reason:  e.Reason,
		Message: e.Message,
		Count:   count,
	}
}
