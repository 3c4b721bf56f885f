package apply

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

var gvrCRDs = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// waitFor watches the object called name until done says so. done gets nil
// when the object does not exist (or is deleted). watchtools.UntilWithSync
// lists, then watches from the list's resourceVersion, and lists again when
// the server ends a watch (a timeout, a restart, a resourceVersion too old).
func waitFor(ctx context.Context, ri dynamic.ResourceInterface, name string, done func(*unstructured.Unstructured) (bool, error)) error {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return ri.Watch(ctx, o)
		},
	}
	// The precondition sees the first list: an object already as wanted (or
	// already gone) ends the wait without an event.
	pre := func(store cache.Store) (bool, error) {
		for _, item := range store.List() {
			if u, ok := item.(*unstructured.Unstructured); ok && u.GetName() == name {
				return done(u)
			}
		}
		return done(nil)
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, pre, func(ev watch.Event) (bool, error) {
		switch ev.Type {
		case watch.Added, watch.Modified:
			u, _ := ev.Object.(*unstructured.Unstructured)
			return done(u)
		case watch.Deleted:
			return done(nil)
		}
		return false, nil
	})
	if err != nil && ctx.Err() != nil {
		// UntilWithSync says "interrupted" for both; callers tell a deadline
		// from a cancellation.
		return ctx.Err()
	}
	return err
}

// establish waits until every CustomResourceDefinition applied so far serves
// its kind, then makes the mapper discover them.
func (a *Applier) establish(ctx context.Context, crds []item) error {
	for _, crd := range crds {
		wctx, cancel := context.WithTimeout(ctx, a.opts.waitTimeout)
		began := a.opts.now()
		var last string
		err := waitFor(wctx, a.dyn.Resource(gvrCRDs), crd.GetName(), func(u *unstructured.Unstructured) (bool, error) {
			if u == nil {
				last = "it does not exist"
				return false, nil
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			last = "no conditions yet"
			for _, c := range conds {
				m, _ := c.(map[string]any)
				switch {
				case m["type"] == "Established" && m["status"] == "True":
					return true, nil
				case m["type"] == "NamesAccepted" && m["status"] == "False":
					return false, &Error{Object: crd.String(), Source: crd.Source, kind: ErrRejected,
						reason: fmt.Sprintf("its names are not accepted: %v; choose names no other CustomResourceDefinition uses", m["message"])}
				default:
					last = fmt.Sprintf("%v=%v %v", m["type"], m["status"], m["message"])
				}
			}
			return false, nil
		})
		cancel()
		var e *Error
		switch {
		case errors.As(err, &e):
			return e
		case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
			return &Error{Object: crd.String(), Source: crd.Source, cause: err,
				reason: fmt.Sprintf("not established after %s (%s); check the API server's log", a.opts.waitTimeout, last)}
		case err != nil:
			return a.classify(crd.Object, gvrCRDs, "watch", err)
		}
		fmt.Fprintf(a.opts.progress, "%s: established in %s\n", crd, a.opts.now().Sub(began).Round(time.Millisecond))
	}
	a.reset(ctx)
	return nil
}

// resolve finds the resource of a kind whose CustomResourceDefinition this
// apply installed. An established definition is served at once, but discovery
// may trail it briefly: the mapper is asked again for a little while.
func (a *Applier) resolve(ctx context.Context, it item) (*meta.RESTMapping, error) {
	wctx, cancel := context.WithTimeout(ctx, a.opts.waitTimeout)
	defer cancel()
	for {
		m, err := a.mapper.RESTMappingWithContext(wctx, it.gvk.GroupKind(), it.gvk.Version)
		if err == nil {
			return m, nil
		}
		if !meta.IsNoMatchError(err) {
			return nil, a.classify(it.Object, schema.GroupVersionResource{}, "discover", err)
		}
		select {
		case <-wctx.Done():
			return nil, &Error{Object: it.String(), Source: it.Source, kind: ErrUnknownKind, cause: err,
				reason: fmt.Sprintf("CustomResourceDefinition %s is established, but the cluster still serves no kind %q in apiVersion %q after %s; check that the definition serves that version",
					it.crd, it.gvk.Kind, it.gvk.GroupVersion(), a.opts.waitTimeout)}
		case <-time.After(200 * time.Millisecond):
			a.reset(wctx)
		}
	}
}

// replaceJob deletes a finished Job whose pod template changed, waits until it
// is gone and applies the new one: a Job's template cannot change in place, and
// a migration Job changes with every release.
func (a *Applier) replaceJob(ctx context.Context, ri dynamic.ResourceInterface, it item, existing *unstructured.Unstructured, prev *Previous, data []byte, cause error) (*unstructured.Unstructured, string, error) {
	name := describe("Job", it.GetNamespace(), it.GetName())
	if prev == nil || !prev.Finished {
		return nil, "", &Error{Object: it.String(), Source: it.Source, kind: ErrJobRunning, cause: cause,
			reason: fmt.Sprintf("%s from the previous release is still running, and a Job's pod template cannot change; wait for it to finish, or delete it (kubectl delete job -n %s %s) to run the new one", name, it.GetNamespace(), it.GetName())}
	}
	if !a.opts.replaceJobs {
		return nil, "", &Error{Object: it.String(), Source: it.Source, kind: ErrRejected, cause: cause,
			reason: fmt.Sprintf("%s has finished and its pod template cannot change; delete it (kubectl delete job -n %s %s) so that this release's Job can run, or let finished Jobs be replaced", name, it.GetNamespace(), it.GetName())}
	}
	uid := existing.GetUID()
	// Background: the Job goes at once and the garbage collector removes its
	// pods; the new Job's selector is its own UID, so they are never confused.
	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &bg}
	if a.opts.dryRun {
		del.DryRun = []string{metav1.DryRunAll}
	}
	if err := ri.Delete(ctx, it.GetName(), del); err != nil && !apierrors.IsNotFound(err) {
		return nil, "", a.classify(it.Object, it.mapping.Resource, "delete", err)
	}
	if a.opts.dryRun {
		// The old Job is still there, so the new one cannot be checked.
		return existing, "dry run: the finished Job would be deleted and created again; its new version was not checked", nil
	}
	wctx, cancel := context.WithTimeout(ctx, a.opts.waitTimeout)
	defer cancel()
	err := waitFor(wctx, ri, it.GetName(), func(u *unstructured.Unstructured) (bool, error) {
		return u == nil || u.GetUID() != uid, nil
	})
	if err != nil {
		return nil, "", a.classify(it.Object, it.mapping.Resource, "watch", err)
	}
	out, err := a.patch(ctx, ri, it.GetName(), data)
	if err != nil {
		return nil, "", a.classify(it.Object, it.mapping.Resource, "patch", err)
	}
	return out, fmt.Sprintf("the finished Job %s was deleted and created again, since its pod template changed", uid), nil
}
