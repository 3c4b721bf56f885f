package rollback

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// FirstDeploy as a Target's Previous says the deploy created the workload.
const FirstDeploy int64 = -1

// Target is a workload to roll back.
type Target struct {
	rollout.Target
	// Previous is the revision live before the deploy, as Revision read it
	// then: FirstDeploy when the deploy created the workload; 0 when unknown,
	// to restore the revision before the current one (as kubectl rollout undo
	// does).
	Previous int64
	// Template is the pod template before the deploy, as the apply recorded
	// it (apply.Previous.Template): what is restored when the revision of
	// Previous is no longer kept (revisionHistoryLimit, garbage collection).
	// nil when not recorded.
	Template *corev1.PodTemplateSpec
}

// Interface rolls workloads back.
type Interface interface {
	// Rollback restores each target's previous revision, then watches the
	// restores to a verdict. An error means the rollback could not be done
	// (access, connection); a restore that does not roll out is in the
	// Result's Verdict.
	Rollback(ctx context.Context, targets ...Target) (*Result, error)
}

// Restorer rolls back with a clientset, and watches the restores with a
// rollout.Interface.
type Restorer struct {
	client  kubernetes.Interface
	watcher rollout.Interface
	o       *options
}

var _ Interface = (*Restorer)(nil)

// New makes a Restorer. Its identity needs, beyond what the watcher needs,
// patch on the workloads, list on ReplicaSets and ControllerRevisions, and
// delete on pods (a StatefulSet's broken pods are not replaced otherwise).
func New(client kubernetes.Interface, watcher rollout.Interface, opts ...Option) (*Restorer, error) {
	if client == nil {
		return nil, errors.New("rollback.New: nil Kubernetes client")
	}
	if watcher == nil {
		return nil, errors.New("rollback.New: nil rollout watcher")
	}
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return &Restorer{client: client, watcher: watcher, o: o}, nil
}

// Rollback restores the targets; see Interface.
func (r *Restorer) Rollback(ctx context.Context, targets ...Target) (*Result, error) {
	if len(targets) == 0 {
		return nil, errNoTargets
	}
	res := &Result{}
	var watch []rollout.Target
	for _, t := range targets {
		var rs Restore
		var err error
		switch t.Kind {
		case rollout.Deployment:
			rs, err = r.deployment(ctx, t)
		case rollout.StatefulSet:
			rs, err = r.statefulSet(ctx, t)
		case rollout.DaemonSet:
			rs, err = r.daemonSet(ctx, t)
		case rollout.Job:
			rs = Restore{Target: t.Target, Action: Skipped, Message: JobMessage(t.Namespace, t.Name)}
		default:
			err = fmt.Errorf("rollback: %q is not a kind that can be rolled back; use Deployment, StatefulSet, DaemonSet or Job", t.Kind)
		}
		var conflict *ConflictError
		if errors.As(err, &conflict) {
			rs, err = Restore{Target: t.Target, Action: Failed, Message: conflict.Error(), Conflicts: conflict.Conflicts}, nil
		}
		if err != nil {
			return res, fmt.Errorf("rolling back %s: %w", t.Target, err)
		}
		fmt.Fprintf(r.o.log, "%s: %s\n", t.Ref(), rs.Message)
		res.Workloads = append(res.Workloads, rs)
		if rs.Action == Restored {
			watch = append(watch, rs.Target)
		}
	}
	if len(watch) == 0 {
		return res, nil
	}
	v, err := r.watcher.Watch(ctx, watch...)
	if err != nil {
		return res, fmt.Errorf("watching the rollback: %w", err)
	}
	res.Verdict = v
	return res, nil
}

func (r *Restorer) patchOptions() metav1.PatchOptions {
	return metav1.PatchOptions{FieldManager: r.o.fieldManager}
}

// pick chooses the revision to restore among those kept, or says why there is
// none. current is the failed revision.
func pick(t Target, current int64, kept []int64) (int64, *Restore) {
	none := func(msg string) (int64, *Restore) {
		return 0, &Restore{Target: t.Target, Action: NothingToRollBackTo, From: current, Message: msg}
	}
	switch {
	case t.Previous == FirstDeploy:
		return none(fmt.Sprintf("%s: %s did not exist before this deploy and is left as it is (kubectl -n %s delete %s removes it)",
			FirstDeployMessage, t.Ref(), t.Namespace, t.Ref()))
	case t.Previous > 0 && t.Previous == current:
		return 0, &Restore{Target: t.Target, Action: Unchanged, From: current, To: current, Message: fmt.Sprintf(
			"revision %d, the one before the deploy, is still the live one: the deploy did not change the pod template, so there is nothing to restore", current)}
	case t.Previous > 0:
		for _, k := range kept {
			if k == t.Previous {
				return k, nil
			}
		}
		return none(fmt.Sprintf("nothing to roll back to: revision %d of %s, live before the deploy, is no longer kept (revisionHistoryLimit)", t.Previous, t.Ref()))
	}
	best := int64(0)
	for _, k := range kept {
		if k < current && k > best {
			best = k
		}
	}
	if best == 0 {
		return none(fmt.Sprintf("%s: %s has no revision before %d", FirstDeployMessage, t.Ref(), current))
	}
	return best, nil
}

func (r *Restorer) deployment(ctx context.Context, t Target) (Restore, error) {
	c := r.client.AppsV1().Deployments(t.Namespace)
	d, err := c.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return Restore{}, err
	}
	if d.Spec.Paused {
		return Restore{Target: t.Target, Action: Skipped, Message: fmt.Sprintf(
			"%s is paused, so a restored template would not roll out either: resume it (kubectl -n %s rollout resume %s) and deploy again", t.Ref(), t.Namespace, t.Ref())}, nil
	}
	sets, err := r.replicaSets(ctx, d)
	if err != nil {
		return Restore{}, err
	}
	current := annotationRevision(d.Annotations)
	byRevision := map[int64]*appsv1.ReplicaSet{}
	var kept []int64
	for _, rs := range sets {
		rev := annotationRevision(rs.Annotations)
		byRevision[rev] = rs
		kept = append(kept, rev)
	}
	to, none := pick(t, current, kept)
	if none != nil {
		if t.Template != nil && none.Action == NothingToRollBackTo && t.Previous != FirstDeploy {
			return r.restoreRecorded(ctx, t, d, current, &d.Spec.Template)
		}
		if rs := byRevision[current]; rs != nil {
			none.Images = images(&rs.Spec.Template, &rs.Spec.Template)
		}
		return *none, nil
	}
	prev := byRevision[to]
	tmpl := prev.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
	if len(tmpl.Labels) == 0 {
		tmpl.Labels = nil
	}
	rs := Restore{Target: t.Target, Action: Restored, From: current, To: to,
		Images:  images(&d.Spec.Template, tmpl),
		Message: fmt.Sprintf("restored the template of revision %d (ReplicaSet %s)", to, prev.Name)}
	written, note, err := r.applyTemplate(ctx, d, tmpl)
	if err != nil {
		return Restore{}, err
	}
	if written == nil {
		if written, err = r.patchTemplate(ctx, t, tmpl); err != nil {
			return Restore{}, fmt.Errorf("restoring revision %d: %w", to, err)
		}
	}
	rs.Generation = written.GetGeneration()
	rs.Message += note
	return rs, nil
}

func (r *Restorer) replicaSets(ctx context.Context, d *appsv1.Deployment) ([]*appsv1.ReplicaSet, error) {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	list, err := r.client.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ReplicaSet
	for i := range list.Items {
		if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && ref.UID == d.UID {
			out = append(out, &list.Items[i])
		}
	}
	return out, nil
}

func (r *Restorer) revisions(ctx context.Context, ns string, selector *metav1.LabelSelector, owner types.UID) ([]*appsv1.ControllerRevision, error) {
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return nil, err
	}
	list, err := r.client.AppsV1().ControllerRevisions(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var out []*appsv1.ControllerRevision
	for i := range list.Items {
		if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && ref.UID == owner {
			out = append(out, &list.Items[i])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision < out[j].Revision })
	return out, nil
}

func (r *Restorer) statefulSet(ctx context.Context, t Target) (Restore, error) {
	c := r.client.AppsV1().StatefulSets(t.Namespace)
	sts, err := c.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return Restore{}, err
	}
	revs, err := r.revisions(ctx, t.Namespace, sts.Spec.Selector, sts.UID)
	if err != nil {
		return Restore{}, err
	}
	failed := sts.Status.UpdateRevision
	current := int64(0)
	for _, rev := range revs {
		if rev.Name == failed {
			current = rev.Revision
		}
	}
	rs, err := r.restoreRevision(ctx, t, sts, current, revs, &sts.Spec.Template, func(patch []byte) (metav1.Object, error) {
		return c.Patch(ctx, t.Name, types.StrategicMergePatchType, patch, r.patchOptions())
	})
	if err != nil || rs.Action != Restored {
		return rs, err
	}
	deleted, err := r.replaceBrokenPods(ctx, t, sts, failed, rs.Generation)
	if err != nil {
		return rs, err
	}
	if deleted > 0 {
		rs.Message += fmt.Sprintf("; deleted %d pod(s) of the failed revision that were not ready, which the StatefulSet controller does not replace by itself", deleted)
	}
	return rs, nil
}

func (r *Restorer) daemonSet(ctx context.Context, t Target) (Restore, error) {
	c := r.client.AppsV1().DaemonSets(t.Namespace)
	ds, err := c.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return Restore{}, err
	}
	revs, err := r.revisions(ctx, t.Namespace, ds.Spec.Selector, ds.UID)
	if err != nil {
		return Restore{}, err
	}
	current := int64(0)
	if len(revs) > 0 {
		current = revs[len(revs)-1].Revision
	}
	return r.restoreRevision(ctx, t, ds, current, revs, &ds.Spec.Template, func(patch []byte) (metav1.Object, error) {
		return c.Patch(ctx, t.Name, types.StrategicMergePatchType, patch, r.patchOptions())
	})
}

// restoreRevision puts back the template of a previous ControllerRevision.
func (r *Restorer) restoreRevision(ctx context.Context, t Target, obj metav1.Object, current int64, revs []*appsv1.ControllerRevision, live *corev1.PodTemplateSpec, patch func([]byte) (metav1.Object, error)) (Restore, error) {
	var kept []int64
	byRevision := map[int64]*appsv1.ControllerRevision{}
	for _, rev := range revs {
		kept = append(kept, rev.Revision)
		byRevision[rev.Revision] = rev
	}
	to, none := pick(t, current, kept)
	if none != nil {
		if t.Template != nil && none.Action == NothingToRollBackTo && t.Previous != FirstDeploy {
			return r.restoreRecorded(ctx, t, obj, current, live)
		}
		none.Images = images(live, live)
		return *none, nil
	}
	prev := byRevision[to]
	tmpl, err := rollout.RevisionTemplate(prev)
	if err != nil {
		return Restore{}, err
	}
	rs := Restore{Target: t.Target, Action: Restored, From: current, To: to, Images: images(live, tmpl),
		Message: fmt.Sprintf("restored the template of revision %d (ControllerRevision %s)", to, prev.Name)}
	written, note, err := r.applyTemplate(ctx, obj, tmpl)
	if err != nil {
		return Restore{}, err
	}
	if written == nil {
		// The revision's data is a strategic merge patch that replaces the
		// template ("$patch": "replace"), as kubectl rollout undo applies it.
		if written, err = patch(prev.Data.Raw); err != nil {
			return Restore{}, fmt.Errorf("restoring revision %d: %w", to, err)
		}
	}
	rs.Generation = written.GetGeneration()
	rs.Message += note
	return rs, nil
}

// stsSettle bounds the wait for the StatefulSet controller to see a restore.
const stsSettle = 30 * time.Second

// replaceBrokenPods deletes the StatefulSet's pods of the failed revision that
// are not ready. With the default OrderedReady policy the controller waits for
// a broken pod to become ready before it replaces it, which it never does: the
// documented "forced rollback" is to delete it once the template is reverted.
// The controller must have seen the restored template first, or it would
// recreate the pod from the failed one.
func (r *Restorer) replaceBrokenPods(ctx context.Context, t Target, sts *appsv1.StatefulSet, failed string, generation int64) (int, error) {
	if failed == "" {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, stsSettle)
	defer cancel()
	c := r.client.AppsV1().StatefulSets(t.Namespace)
	seen := func(s *appsv1.StatefulSet) bool {
		return s.Status.ObservedGeneration >= generation && s.Status.UpdateRevision != "" && s.Status.UpdateRevision != failed
	}
	cur, err := c.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	if !seen(cur) {
		w, err := c.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", t.Name).String(),
			ResourceVersion: cur.ResourceVersion,
		})
		if err != nil {
			return 0, err
		}
		ok := false
		for ev := range w.ResultChan() {
			if s, isSTS := ev.Object.(*appsv1.StatefulSet); isSTS && ev.Type != watch.Deleted && seen(s) {
				ok = true
				break
			}
		}
		w.Stop()
		if !ok {
			return 0, fmt.Errorf("the StatefulSet controller did not take the restored template within %s: %w", stsSettle, ctx.Err())
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return 0, err
	}
	pods, err := r.client.CoreV1().Pods(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range pods.Items {
		p := &pods.Items[i]
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.UID != sts.UID || p.Labels[appsv1.ControllerRevisionHashLabelKey] != failed || p.DeletionTimestamp != nil || ready(p) {
			continue
		}
		err := r.client.CoreV1().Pods(t.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return n, fmt.Errorf("deleting pod %s of the failed revision: %w", p.Name, err)
		}
		n++
	}
	return n, nil
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func annotationRevision(a map[string]string) int64 {
	n, err := strconv.ParseInt(a[rollout.RevisionAnnotation], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// images pairs the failed template's images (Old) with the restored ones (New).
func images(failed, restored *corev1.PodTemplateSpec) []rollout.ImageChange {
	old := map[string]string{}
	for _, c := range append(append([]corev1.Container{}, failed.Spec.InitContainers...), failed.Spec.Containers...) {
		old[c.Name] = c.Image
	}
	var out []rollout.ImageChange
	for _, c := range append(append([]corev1.Container{}, restored.Spec.InitContainers...), restored.Spec.Containers...) {
		out = append(out, rollout.ImageChange{Container: c.Name, Old: old[c.Name], New: c.Image})
	}
	return out
}
