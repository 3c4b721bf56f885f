package rollback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// Release rolls back a whole release from what its apply recorded
// (apply.Result.Objects, applied as far as the apply got): the objects it
// created are deleted, the ones it changed get back the fields the field
// manager had applied before (a server-side apply by the same manager, forced
// only with WithForceConflicts), and the workloads, last, get back their
// previous revision, watched to a verdict. On a first deploy (the release
// created everything) nothing is deleted: there is nothing to go back to, and
// the failed objects are kept for inspection. Namespaces and
// CustomResourceDefinitions the release created are kept: deleting them
// deletes everything they hold.
//
// Objects that are not workloads need WithDynamicClient. The Result lists
// every object with what was done; an error means the rollback could not go
// on (access, connection).
func (r *Restorer) Release(ctx context.Context, applied []apply.Applied) (*Result, error) {
	if len(applied) == 0 {
		return nil, errors.New("rollback: the release applied nothing")
	}
	res := &Result{Objects: make([]Object, len(applied))}
	hook := make([]bool, len(applied))
	first := true
	for i, a := range applied {
		if isHook(a) {
			hook[i] = true
			o := base(a)
			o.Action, o.Message = Skipped, "a Helm hook runs in its own phase and is not part of the release's rollback"
			res.Objects[i] = o
			continue
		}
		if a.Action != apply.Created && a.Action != apply.Skipped {
			first = false
		}
	}
	// Configuration first, in the reverse order of the apply; the workloads
	// last, so that the restored pods start on the restored configuration.
	for i := len(applied) - 1; i >= 0; i-- {
		a := applied[i]
		if a.IsWorkload() || hook[i] {
			continue
		}
		o := r.object(ctx, a, first)
		fmt.Fprintf(r.o.log, "%s: %s%s\n", o, o.Action, sentence(o.Message))
		res.Objects[i] = o
	}
	var targets []Target
	var at []int // the index in applied of each target
	for i, a := range applied {
		if !a.IsWorkload() || hook[i] {
			continue
		}
		if a.Action == apply.Created && !first && a.GVK.Kind != "Job" {
			o := r.deleteCreated(ctx, a)
			fmt.Fprintf(r.o.log, "%s: %s%s\n", o, o.Action, sentence(o.Message))
			res.Objects[i] = o
			continue
		}
		t, err := workloadTarget(a)
		if err != nil {
			return res, err
		}
		targets, at = append(targets, t), append(at, i)
	}
	if len(targets) == 0 {
		return res, nil
	}
	wr, err := r.Rollback(ctx, targets...)
	if wr != nil {
		res.Workloads, res.Verdict = wr.Workloads, wr.Verdict
	}
	// Rollback answers for its targets in their order.
	for k := range res.Workloads {
		w, i := &res.Workloads[k], at[k]
		res.Objects[i] = Object{Kind: applied[i].GVK.Kind, Namespace: w.Namespace, Name: w.Name,
			Action: w.Action, Message: w.Message, Conflicts: w.Conflicts, Workload: w}
	}
	if err != nil {
		// The workloads not reached are listed too.
		for _, i := range at {
			if res.Objects[i].Kind == "" {
				o := base(applied[i])
				o.Action, o.Message = Failed, err.Error()
				res.Objects[i] = o
			}
		}
		return res, err
	}
	return res, nil
}

// hookAnnotation marks a Helm hook (helm.sh/hook: pre-upgrade, ...).
const hookAnnotation = "helm.sh/hook"

func isHook(a apply.Applied) bool {
	for _, u := range []*unstructured.Unstructured{a.Object, a.Before} {
		if u != nil {
			if _, ok := u.GetAnnotations()[hookAnnotation]; ok {
				return true
			}
		}
	}
	return false
}

func sentence(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// workloadTarget is the rollback's target for an applied workload, with the
// revision and the template the apply recorded.
func workloadTarget(a apply.Applied) (Target, error) {
	k, err := rollout.ParseKind(a.GVK.Kind)
	if err != nil {
		return Target{}, err
	}
	t := Target{Target: rollout.Target{Kind: k, Namespace: a.Namespace, Name: a.Name, Generation: a.Generation}, Previous: FirstDeploy}
	if p := a.Previous; p != nil && p.Existed {
		t.Previous = p.RevisionNumber
		if p.Template != nil && k != rollout.Job {
			var tmpl corev1.PodTemplateSpec
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(p.Template, &tmpl); err == nil {
				t.Template = &tmpl
			}
		}
	}
	return t, nil
}

func base(a apply.Applied) Object {
	return Object{Kind: a.GVK.Kind, Namespace: a.Namespace, Name: a.Name}
}

// object rolls back one object that is not a workload.
func (r *Restorer) object(ctx context.Context, a apply.Applied, first bool) Object {
	o := base(a)
	switch a.Action {
	case apply.Unchanged:
		o.Action, o.Message = Unchanged, "the release did not change it"
	case apply.Skipped:
		o.Action, o.Message = Skipped, "the release did not apply it"
	case apply.Created:
		switch {
		case first:
			o.Action, o.Message = Kept, fmt.Sprintf("%s: the first deploy created it; kept for inspection", FirstDeployMessage)
		case a.GVK.Kind == "Namespace" && a.GVK.Group == "":
			o.Action, o.Message = Kept, "the release created it; a rollback never deletes a namespace, which would delete all it holds"
		case a.GVK.Kind == "CustomResourceDefinition" && a.GVK.Group == "apiextensions.k8s.io":
			o.Action, o.Message = Kept, "the release created it; a rollback never deletes a CustomResourceDefinition, which would delete every object of its kind"
		default:
			return r.deleteCreated(ctx, a)
		}
	default: // Configured, Replaced
		return r.restore(ctx, a)
	}
	return o
}

func (r *Restorer) resource(a apply.Applied) (dynamic.ResourceInterface, error) {
	if r.o.dyn == nil {
		return nil, errors.New("rollback: no dynamic client (rollback.WithDynamicClient) to roll back objects that are not workloads")
	}
	if a.Namespace == "" {
		return r.o.dyn.Resource(a.Resource), nil
	}
	return r.o.dyn.Resource(a.Resource).Namespace(a.Namespace), nil
}

// deleteCreated removes an object the failed release created; the UID makes sure it
// is that object, and not one made since under the same name.
func (r *Restorer) deleteCreated(ctx context.Context, a apply.Applied) Object {
	o := base(a)
	ri, err := r.resource(a)
	if err != nil {
		o.Action, o.Message = Failed, err.Error()
		return o
	}
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	if a.UID != "" {
		uid := a.UID
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	err = ri.Delete(ctx, a.Name, opts)
	switch {
	case err == nil:
		o.Action, o.Message = Deleted, "the failed release created it"
	case apierrors.IsNotFound(err):
		o.Action, o.Message = Deleted, "the failed release created it; it was already gone"
	case apierrors.IsConflict(err):
		o.Action, o.Message = Kept, "the failed release created it, but it has been replaced since (another UID): left alone"
	default:
		o.Action, o.Message = Failed, fmt.Sprintf("deleting it: %v", err)
	}
	return o
}

// restore puts back an object the failed release changed.
func (r *Restorer) restore(ctx context.Context, a apply.Applied) Object {
	o := base(a)
	ri, err := r.resource(a)
	if err != nil {
		o.Action, o.Message = Failed, err.Error()
		return o
	}
	cfg, ok, err := a.PreviousConfig(r.o.fieldManager)
	if err != nil {
		o.Action, o.Message = Failed, err.Error()
		return o
	}
	if !ok {
		return r.update(ctx, ri, a)
	}
	data, err := json.Marshal(cfg.Object)
	if err != nil {
		o.Action, o.Message = Failed, fmt.Sprintf("encoding its previous configuration: %v", err)
		return o
	}
	force := r.o.force
	_, err = ri.Patch(ctx, a.Name, types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: r.o.fieldManager, Force: &force})
	switch {
	case err == nil:
		o.Action, o.Message = Restored, fmt.Sprintf("the fields %q had applied before the release are back, and the ones the release added are gone", r.o.fieldManager)
	case apierrors.IsConflict(err) && !force:
		ce := conflictError(err, r.o.names)
		o.Action, o.Message, o.Conflicts = Failed, ce.Error(), ce.Conflicts
	default:
		o.Action, o.Message = Failed, fmt.Sprintf("restoring its previous configuration: %v", err)
	}
	return o
}

// update restores an object the field manager had not server-side applied
// before the release (kubectl apply without --server-side, another tool):
// there is no applied configuration to go back to, so the object as it was is
// written back whole over the live one.
func (r *Restorer) update(ctx context.Context, ri dynamic.ResourceInterface, a apply.Applied) Object {
	o := base(a)
	if a.Before == nil {
		o.Action, o.Message = Failed, "the apply recorded no previous state"
		return o
	}
	live, err := ri.Get(ctx, a.Name, metav1.GetOptions{})
	if err != nil {
		o.Action, o.Message = Failed, fmt.Sprintf("reading it: %v", err)
		return o
	}
	prev := a.Before.DeepCopy()
	prev.SetResourceVersion(live.GetResourceVersion())
	prev.SetManagedFields(nil)
	if _, err := ri.Update(ctx, prev, metav1.UpdateOptions{FieldManager: r.o.fieldManager}); err != nil {
		o.Action, o.Message = Failed, fmt.Sprintf("writing back its previous state: %v", err)
		return o
	}
	o.Action, o.Message = Restored, fmt.Sprintf("written back as it was before the release (%q had not server-side applied it before)", r.o.fieldManager)
	return o
}
