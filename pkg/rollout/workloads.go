package rollout

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// RevisionAnnotation is where the Deployment controller numbers a
// Deployment's revisions, on the Deployment and on each of its ReplicaSets.
const RevisionAnnotation = "deployment.kubernetes.io/revision"

// status is what one evaluation finds about one target.
type status struct {
	check
	done     bool
	progress string
	images   []ImageChange
	replicas Replicas
	// selector and pods name what kubectl commands should look at: the
	// workload's pods, and those of its new revision.
	selector string
	pods     []string
}

// evaluator judges targets from what the store holds at one moment.
type evaluator struct {
	store   *store
	now     time.Time
	started time.Time
	grace   time.Duration
	mem     *memory
}

func (e *evaluator) evaluate(t Target, generation int64) status {
	switch t.Kind {
	case Deployment:
		return e.deployment(t, generation)
	case StatefulSet:
		return e.statefulSet(t, generation)
	case DaemonSet:
		return e.daemonSet(t, generation)
	default:
		return e.job(t)
	}
}

func (e *evaluator) classifier(job bool) *classifier {
	return &classifier{now: e.now, grace: e.grace, mem: e.mem, store: e.store, job: job}
}

func deleted(t Target) status {
	return status{check: check{cause: &Cause{
		Reason:  Deleted,
		Message: fmt.Sprintf("%s was deleted during the rollout", t.Ref()),
		Fix:     "something else deletes it (another deploy, a controller, a person): find out what, then deploy again",
	}}}
}

func paused(t Target) status {
	return status{check: check{cause: &Cause{
		Reason:  Paused,
		Message: fmt.Sprintf("%s is paused (spec.paused): its controller rolls nothing out", t.Ref()),
		Fix:     fmt.Sprintf("remove spec.paused from the manifest, or run kubectl -n %s rollout resume %s", t.Namespace, t.Ref()),
	}}}
}

// pods classifies each pod of the new revision.
func (e *evaluator) pods(s *status, c *classifier, pods []*corev1.Pod) {
	for _, p := range pods {
		s.pods = append(s.pods, p.Name)
		s.add(c.pod(p))
	}
}

// refusal turns a controller's failure to create pods into a cause once it has
// lasted the grace: during a rolling update a quota frees up as old pods go.
func (e *evaluator) refusal(s *status, key types.UID, namespace, object, message string, events []Event) {
	k := "refused/" + string(key)
	if message == "" {
		e.mem.forget(k)
		return
	}
	since := e.mem.first(k, e.now)
	if e.now.Sub(since) >= e.grace {
		s.add(check{cause: refused(namespace, object, message, events)})
		return
	}
	s.add(check{wake: since.Add(e.grace), hints: []string{fmt.Sprintf("%s cannot create pods: %s", object, clip(message, 300))}})
}

// failedCreate returns the message of the newest FailedCreate event about a
// controller, unless a later SuccessfulCreate says it got past it.
func (e *evaluator) failedCreate(uid types.UID) (string, []Event) {
	events := e.store.eventsAbout(uid, e.started.Add(-time.Second))
	var msg string
	var out []Event
	for _, ev := range events {
		switch ev.Reason {
		case "FailedCreate":
			msg = ev.Message
			out = append(out, toEvent(ev))
		case "SuccessfulCreate":
			msg = ""
		}
	}
	if len(out) > 3 {
		out = out[len(out)-3:]
	}
	return msg, out
}

func (e *evaluator) deployment(t Target, gen int64) status {
	d := e.store.deployment(t.Namespace, t.Name)
	if d == nil {
		return deleted(t)
	}
	want := ptr.Deref(d.Spec.Replicas, 1)
	s := status{
		selector: metav1.FormatLabelSelector(d.Spec.Selector),
		replicas: Replicas{Desired: want, Updated: d.Status.UpdatedReplicas, Ready: d.Status.ReadyReplicas, Available: d.Status.AvailableReplicas},
	}
	newRS, oldRS := deploymentReplicaSets(d, e.store.replicaSetsOf(d.UID))
	var old *corev1.PodTemplateSpec
	if oldRS != nil {
		old = &oldRS.Spec.Template
	}
	s.images = imageChanges(&d.Spec.Template, old)
	if d.Spec.Paused {
		p := paused(t)
		p.images, p.replicas, p.selector = s.images, s.replicas, s.selector
		return p
	}
	if d.Status.ObservedGeneration < gen {
		s.progress = fmt.Sprintf("waiting for the controller to see generation %d", gen)
		return s
	}
	if newRS != nil {
		e.pods(&s, e.classifier(false), e.store.podsOf(newRS.UID))
		if s.cause == nil {
			msg := ""
			for _, c := range newRS.Status.Conditions {
				if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
					msg = c.Message
				}
			}
			_, events := e.failedCreate(newRS.UID)
			e.refusal(&s, newRS.UID, t.Namespace, "replicaset/"+newRS.Name, msg, events)
		}
	}
	if s.cause == nil {
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
				s.cause = &Cause{
					Reason:  ProgressDeadline,
					Message: fmt.Sprintf("%s made no progress for %ds (progressDeadlineSeconds): %s", t.Ref(), ptr.Deref(d.Spec.ProgressDeadlineSeconds, 600), c.Message),
					Fix:     "the new pods do not become available: describe them to see why",
				}
				if len(s.hints) > 0 {
					s.cause.Message += "; " + s.hints[len(s.hints)-1]
				}
			}
		}
	}
	if s.cause != nil {
		return s
	}
	s.done = d.Status.UpdatedReplicas == want && d.Status.Replicas == want && d.Status.AvailableReplicas == want
	s.progress = fmt.Sprintf("%d of %d updated, %d available", d.Status.UpdatedReplicas, want, d.Status.AvailableReplicas)
	if old := d.Status.Replicas - d.Status.UpdatedReplicas; old > 0 {
		s.progress += fmt.Sprintf(", %d old left", old)
	}
	return s
}

// deploymentReplicaSets finds the ReplicaSet of the Deployment's current
// revision (its revision annotation is the Deployment's, as the controller
// sets it once it has seen the template) and the one of the revision before.
func deploymentReplicaSets(d *appsv1.Deployment, sets []*appsv1.ReplicaSet) (newRS, oldRS *appsv1.ReplicaSet) {
	want := d.Annotations[RevisionAnnotation]
	for _, rs := range sets {
		if want != "" && rs.Annotations[RevisionAnnotation] == want && sameTemplate(&rs.Spec.Template, &d.Spec.Template) {
			newRS = rs
		}
	}
	if newRS == nil {
		for _, rs := range sets {
			if sameTemplate(&rs.Spec.Template, &d.Spec.Template) {
				newRS = rs
			}
		}
	}
	current := int64(1 << 62)
	if newRS != nil {
		current = revisionOf(newRS)
	}
	best := int64(-1)
	for _, rs := range sets {
		if r := revisionOf(rs); rs != newRS && r < current && r > best {
			oldRS, best = rs, r
		}
	}
	return newRS, oldRS
}

func revisionOf(rs *appsv1.ReplicaSet) int64 {
	r, err := strconv.ParseInt(rs.Annotations[RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return r
}

// sameTemplate compares pod templates as the Deployment controller does:
// without the pod-template-hash label it adds to its ReplicaSets.
func sameTemplate(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	delete(a.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	delete(b.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	return equality.Semantic.DeepEqual(a, b)
}

func (e *evaluator) statefulSet(t Target, gen int64) status {
	sts := e.store.statefulSet(t.Namespace, t.Name)
	if sts == nil {
		return deleted(t)
	}
	want := ptr.Deref(sts.Spec.Replicas, 1)
	s := status{
		selector: metav1.FormatLabelSelector(sts.Spec.Selector),
		replicas: Replicas{Desired: want, Updated: sts.Status.UpdatedReplicas, Ready: sts.Status.ReadyReplicas, Available: sts.Status.AvailableReplicas},
	}
	revs := e.store.revisionsOf(sts.UID)
	var update *appsv1.ControllerRevision
	for _, r := range revs {
		if r.Name == sts.Status.UpdateRevision {
			update = r
		}
	}
	s.images = imageChanges(&sts.Spec.Template, previousTemplate(revs, update))
	if sts.Status.ObservedGeneration < gen || sts.Status.ObservedGeneration == 0 {
		s.progress = fmt.Sprintf("waiting for the controller to see generation %d", gen)
		return s
	}
	var pods []*corev1.Pod
	for _, p := range e.store.podsOf(sts.UID) {
		if p.Labels[appsv1.ControllerRevisionHashLabelKey] == sts.Status.UpdateRevision {
			pods = append(pods, p)
		}
	}
	e.pods(&s, e.classifier(false), pods)
	if s.cause == nil {
		msg, events := e.failedCreate(sts.UID)
		e.refusal(&s, sts.UID, t.Namespace, t.Ref(), msg, events)
	}
	if s.cause != nil {
		return s
	}
	s.progress = fmt.Sprintf("%d of %d updated, %d ready", sts.Status.UpdatedReplicas, want, sts.Status.ReadyReplicas)
	if sts.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		// kubectl rollout status refuses these: pods change only when someone
		// deletes them. The controller has the new template: that is all a
		// deploy can wait for.
		s.done = true
		s.progress += " (updateStrategy OnDelete: pods are replaced only when deleted)"
		return s
	}
	if sts.Status.ReadyReplicas < want {
		return s
	}
	if ru := sts.Spec.UpdateStrategy.RollingUpdate; ru != nil && ptr.Deref(ru.Partition, 0) > 0 {
		s.done = sts.Status.UpdatedReplicas >= want-ptr.Deref(ru.Partition, 0)
		return s
	}
	s.done = sts.Status.UpdateRevision == sts.Status.CurrentRevision
	return s
}

func (e *evaluator) daemonSet(t Target, gen int64) status {
	ds := e.store.daemonSet(t.Namespace, t.Name)
	if ds == nil {
		return deleted(t)
	}
	want := ds.Status.DesiredNumberScheduled
	s := status{
		selector: metav1.FormatLabelSelector(ds.Spec.Selector),
		replicas: Replicas{Desired: want, Updated: ds.Status.UpdatedNumberScheduled, Ready: ds.Status.NumberReady, Available: ds.Status.NumberAvailable},
	}
	revs := e.store.revisionsOf(ds.UID)
	var current *appsv1.ControllerRevision
	for _, r := range revs {
		if current == nil || r.Revision > current.Revision {
			current = r
		}
	}
	s.images = imageChanges(&ds.Spec.Template, previousTemplate(revs, current))
	if ds.Status.ObservedGeneration < gen || current == nil {
		s.progress = fmt.Sprintf("waiting for the controller to see generation %d", gen)
		return s
	}
	hash := current.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	var pods []*corev1.Pod
	for _, p := range e.store.podsOf(ds.UID) {
		if p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash {
			pods = append(pods, p)
		}
	}
	e.pods(&s, e.classifier(false), pods)
	if s.cause == nil {
		msg, events := e.failedCreate(ds.UID)
		e.refusal(&s, ds.UID, t.Namespace, t.Ref(), msg, events)
	}
	if s.cause != nil {
		return s
	}
	s.progress = fmt.Sprintf("%d of %d updated, %d available", ds.Status.UpdatedNumberScheduled, want, ds.Status.NumberAvailable)
	if ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType {
		s.done = true
		s.progress += " (updateStrategy OnDelete: pods are replaced only when deleted)"
		return s
	}
	s.done = ds.Status.UpdatedNumberScheduled >= want && ds.Status.NumberAvailable >= want
	return s
}

func (e *evaluator) job(t Target) status {
	j := e.store.job(t.Namespace, t.Name)
	if j == nil {
		return deleted(t)
	}
	want := ptr.Deref(j.Spec.Completions, 1)
	// The controller counts a finished pod once it has removed its finalizer;
	// until then the pod is only listed as uncounted. The interim conditions
	// SuccessCriteriaMet and FailureTarget come before the counts.
	succeeded, failed := j.Status.Succeeded, j.Status.Failed
	if u := j.Status.UncountedTerminatedPods; u != nil {
		succeeded += int32(len(u.Succeeded))
		failed += int32(len(u.Failed))
	}
	s := status{
		selector: metav1.FormatLabelSelector(j.Spec.Selector),
		replicas: Replicas{Desired: want, Updated: j.Status.Active, Ready: succeeded, Available: succeeded},
		images:   imageChanges(&j.Spec.Template, nil),
		progress: fmt.Sprintf("%d of %d completed, %d running, %d failed", succeeded, want, j.Status.Active, failed),
	}
	pods := e.store.podsOf(j.UID)
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			s.done = true
			for _, p := range pods {
				s.pods = append(s.pods, p.Name)
			}
			return s
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			s.cause, s.logs = jobFailed(t, j, c, pods)
			for _, p := range pods {
				s.pods = append(s.pods, p.Name)
			}
			return s
		}
	}
	e.pods(&s, e.classifier(true), pods)
	if s.cause == nil {
		msg, events := e.failedCreate(j.UID)
		e.refusal(&s, j.UID, t.Namespace, t.Ref(), msg, events)
	}
	if ptr.Deref(j.Spec.Suspend, false) {
		s.hints = append(s.hints, t.Ref()+" is suspended (spec.suspend): it starts no pods")
	}
	return s
}

func jobFailed(t Target, j *batchv1.Job, cond batchv1.JobCondition, pods []*corev1.Pod) (*Cause, *logRequest) {
	c := &Cause{
		Reason:  JobFailed,
		Message: fmt.Sprintf("%s failed (%s): %s", t.Ref(), cond.Reason, cond.Message),
	}
	switch cond.Reason {
	case batchv1.JobReasonDeadlineExceeded:
		c.Fix = "the Job ran longer than activeDeadlineSeconds: make it faster or raise the deadline"
	case batchv1.JobReasonPodFailurePolicy:
		c.Fix = "a podFailurePolicy rule failed the Job: the pod's exit code and logs say why"
	default:
		// The apply replaces a finished Job whose pod template changes (the
		// template cannot change in place), and leaves alone one whose
		// template does not: only a run of the same template needs the
		// failed Job deleted first.
		c.Fix = "the Job's pods fail: their last log lines say why; fix it and deploy again: the next deploy replaces the finished Job when its pod template changes; to run the same template again, delete the Job first (kubectl -n " + t.Namespace + " delete " + t.Ref() + ")"
	}
	var logs *logRequest
	for _, p := range pods {
		for i := range p.Status.ContainerStatuses {
			st := &p.Status.ContainerStatuses[i]
			term, previous := st.State.Terminated, false
			if term == nil && st.LastTerminationState.Terminated != nil {
				term, previous = st.LastTerminationState.Terminated, true
			}
			if term == nil || term.ExitCode == 0 {
				continue
			}
			c.Message += "; " + crashMessage(p, st, term)
			c.Pods, c.Container = []string{p.Name}, st.Name
			logs = &logRequest{namespace: p.Namespace, pod: p.Name, container: st.Name, previous: previous}
			if term.Reason == "OOMKilled" {
				c.Fix = "the Job's pod was killed for memory: raise resources.limits.memory"
			} else if term.ExitCode == 126 || term.ExitCode == 127 {
				c.Fix = exitFix(term.ExitCode)
			}
			return c, logs
		}
	}
	return c, nil
}

// imageChanges pairs the containers of a new pod template with their images in
// the old one (nil for a first deploy).
func imageChanges(cur, old *corev1.PodTemplateSpec) []ImageChange {
	oldImages := map[string]string{}
	if old != nil {
		for _, c := range append(append([]corev1.Container{}, old.Spec.InitContainers...), old.Spec.Containers...) {
			oldImages[c.Name] = c.Image
		}
	}
	var out []ImageChange
	for _, c := range append(append([]corev1.Container{}, cur.Spec.InitContainers...), cur.Spec.Containers...) {
		out = append(out, ImageChange{Container: c.Name, Old: oldImages[c.Name], New: c.Image})
	}
	return out
}

// previousTemplate is the template of the newest revision older than cur.
func previousTemplate(revs []*appsv1.ControllerRevision, cur *appsv1.ControllerRevision) *corev1.PodTemplateSpec {
	if cur == nil {
		return nil
	}
	var prev *appsv1.ControllerRevision
	for _, r := range revs {
		if r.Revision < cur.Revision && (prev == nil || r.Revision > prev.Revision) {
			prev = r
		}
	}
	if prev == nil {
		return nil
	}
	t, err := RevisionTemplate(prev)
	if err != nil {
		return nil
	}
	return t
}

// RevisionTemplate decodes the pod template a StatefulSet's or DaemonSet's
// ControllerRevision holds: a patch {"spec":{"template":{...}}}.
func RevisionTemplate(r *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	raw := r.Data.Raw
	if raw == nil && r.Data.Object != nil {
		var err error
		if raw, err = json.Marshal(r.Data.Object); err != nil {
			return nil, err
		}
	}
	var data struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("controllerrevision %s: %w", r.Name, err)
	}
	return &data.Spec.Template, nil
}
