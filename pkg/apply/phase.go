package apply

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A release is applied in phases (its pre hooks, its own objects, its post
// hooks): Apply applies the objects of one phase, Delete removes a hook
// before it is created again or once it is done, Exists tells a first
// release from an upgrade.

// Delete deletes obj and waits until it is gone, so that an object of the
// same name can be created at once (a hook's before-hook-creation policy) or
// is no longer there when the release is done (hook-succeeded, hook-failed).
// It reports whether there was an object to delete; a missing object, or one
// of a kind the cluster does not serve yet, is not an error. Dependents (a
// Job's pods) are deleted in the background by the garbage collector, as
// helm does. In a dry run nothing is deleted or waited for.
func (a *Applier) Delete(ctx context.Context, obj Object) (bool, error) {
	it, ok, err := a.locate(ctx, obj)
	if err != nil || !ok {
		return false, err
	}
	ri := a.resource(it.mapping, it.GetNamespace())
	existing, gerr := a.get(ctx, it)
	if gerr != nil {
		return false, gerr
	}
	if existing == nil {
		return false, nil
	}
	uid := existing.GetUID()
	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &bg}
	if a.opts.dryRun {
		del.DryRun = []string{metav1.DryRunAll}
	}
	if err := ri.Delete(ctx, it.GetName(), del); err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			// Gone already, or replaced by another object of the name.
			return false, nil
		}
		return false, a.classify(it.Object, it.mapping.Resource, "delete", err)
	}
	if a.opts.dryRun {
		return true, nil
	}
	began := a.opts.now()
	wctx, cancel := context.WithTimeout(ctx, a.opts.waitTimeout)
	defer cancel()
	err = waitFor(wctx, ri, it.GetName(), func(u *unstructured.Unstructured) (bool, error) {
		return u == nil || u.GetUID() != uid, nil
	})
	if err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			return true, &Error{Object: it.String(), Source: it.Source, cause: err,
				reason: fmt.Sprintf("deleted, and still there after %s; a finalizer may hold it (kubectl get %s -n %s %s -o yaml shows metadata.finalizers)",
					a.opts.waitTimeout, it.mapping.Resource.Resource, it.GetNamespace(), it.GetName())}
		}
		return true, a.classify(it.Object, it.mapping.Resource, "watch", err)
	}
	fmt.Fprintf(a.opts.progress, "%s: deleted in %s\n", describe(it.gvk.Kind, it.GetNamespace(), it.GetName()), a.opts.now().Sub(began).Round(time.Millisecond))
	return true, nil
}

// Exists reports whether any of objs is in the cluster: a release whose
// objects are all missing is a first release (helm install), any other an
// upgrade. Objects of kinds the cluster does not serve yet count as missing.
func (a *Applier) Exists(ctx context.Context, objs []Object) (bool, error) {
	for _, o := range objs {
		it, ok, err := a.locate(ctx, o)
		if err != nil {
			return false, err
		}
		if !ok {
			continue
		}
		u, gerr := a.get(ctx, it)
		if gerr != nil {
			return false, gerr
		}
		if u != nil {
			return true, nil
		}
	}
	return false, nil
}

// locate finds obj's resource and namespace as plan does, without changing
// obj; ok is false when the cluster does not serve its kind.
func (a *Applier) locate(ctx context.Context, obj Object) (item, bool, error) {
	if obj.Unstructured == nil {
		return item{}, false, &Error{Object: obj.String(), Source: obj.Source, reason: "the object is empty", kind: ErrInvalidObject}
	}
	u := obj.DeepCopy()
	gvk := u.GroupVersionKind()
	it := item{Object: Object{Unstructured: u, Source: obj.Source}, gvk: gvk}
	m, err := a.mapper.RESTMappingWithContext(ctx, gvk.GroupKind(), gvk.Version)
	switch {
	case meta.IsNoMatchError(err):
		return it, false, nil
	case err != nil:
		return it, false, a.classify(it.Object, schema.GroupVersionResource{}, "discover", err)
	}
	it.mapping = m
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(a.opts.namespace)
		}
	} else {
		u.SetNamespace("")
	}
	return it, true, nil
}
