package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Interface applies a release's objects to a cluster.
type Interface interface {
	// Apply applies objs and returns what it did to each. On an error the
	// Result still lists the objects applied before the failure.
	Apply(ctx context.Context, objs []Object) (*Result, error)
}

// Applier applies objects with server-side apply through a dynamic client.
type Applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapperWithContext
	reset  func(context.Context)
	opts   options
}

var _ Interface = (*Applier)(nil)

// New returns an Applier that writes through dyn and finds each kind's resource
// with mapper (kube.Clients' Dynamic and Mapper). A mapper that can be reset
// (meta.ResettableRESTMapper) is reset after CustomResourceDefinitions are
// installed, so that their kinds are found.
func New(dyn dynamic.Interface, mapper meta.RESTMapper, opts ...Option) (*Applier, error) {
	if dyn == nil || mapper == nil {
		return nil, errors.New("apply.New: nil dynamic client or REST mapper")
	}
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	a := &Applier{dyn: dyn, mapper: meta.ToRESTMapperWithContext(mapper), opts: *o, reset: func(context.Context) {}}
	if r, ok := mapper.(meta.ResettableRESTMapper); ok {
		rc := meta.ToResettableRESTMapperWithContext(r)
		a.reset = rc.ResetWithContext
	}
	return a, nil
}

// item is one object of the plan.
type item struct {
	Object
	gvk     schema.GroupVersionKind
	mapping *meta.RESTMapping // nil until its CustomResourceDefinition is installed
	crd     string            // the CustomResourceDefinition in the same apply that defines the kind
	// ensure creates the object when it is missing and leaves it alone when
	// it exists (the namespace of create-namespace).
	ensure bool
	// fetched is set once existing holds the object as it is in the cluster
	// (nil: it does not exist).
	fetched  bool
	existing *unstructured.Unstructured
}

// Apply applies objs: all are checked first (kinds, names, duplicates), then
// applied one by one in a stable order, stopping at the first failure.
func (a *Applier) Apply(ctx context.Context, objs []Object) (*Result, error) {
	res := &Result{DryRun: a.opts.dryRun, FieldManager: a.opts.fieldManager}
	plan, err := a.plan(ctx, objs)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.DryRun = a.opts.dryRun
		}
		return res, err
	}
	if err := a.prefetch(ctx, plan); err != nil {
		err.DryRun = a.opts.dryRun
		return res, err
	}
	if err := a.applySetBefore(ctx, plan, res); err != nil {
		err.DryRun = a.opts.dryRun
		return res, err
	}
	fail := func(err error) (*Result, error) {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{reason: err.Error(), cause: err}
		}
		e.DryRun = a.opts.dryRun
		for _, o := range res.Objects {
			e.Applied = append(e.Applied, fmt.Sprintf("%s (%s)", o, o.Action))
		}
		return res, e
	}

	var crds []item
	crdsReady := false
	dryRunNamespaces := map[string]bool{} // namespaces a dry run would create
	for _, it := range plan {
		if rank(it.gvk.GroupKind()) > rank(gkCRD) && !crdsReady {
			crdsReady = true
			if len(crds) > 0 && !a.opts.dryRun {
				if err := a.establish(ctx, crds); err != nil {
					return fail(err)
				}
			}
		}
		if a.opts.dryRun {
			if note := a.dryRunSkip(it, dryRunNamespaces); note != "" {
				res.Objects = append(res.Objects, Applied{GVK: it.gvk, Namespace: it.GetNamespace(), Name: it.GetName(), Source: it.Source, Action: Skipped, Note: note})
				fmt.Fprintf(a.opts.progress, "%s: skipped in the dry run: %s\n", describe(it.gvk.Kind, it.GetNamespace(), it.GetName()), note)
				continue
			}
		}
		if it.mapping == nil {
			m, err := a.resolve(ctx, it)
			if err != nil {
				return fail(err)
			}
			it.mapping = m
		}
		began := a.opts.now()
		out, err := a.applyOne(ctx, it)
		if err != nil {
			return fail(err)
		}
		res.Objects = append(res.Objects, out)
		if it.gvk.GroupKind() == gkCRD {
			crds = append(crds, it)
		}
		if it.gvk.GroupKind() == gkNamespace && out.Action == Created && a.opts.dryRun {
			dryRunNamespaces[it.GetName()] = true
		}
		suffix := ""
		if a.opts.dryRun {
			suffix = " (dry run)"
		}
		fmt.Fprintf(a.opts.progress, "%s: %s%s in %s\n", out, out.Action, suffix, a.opts.now().Sub(began).Round(time.Millisecond))
	}
	return res, nil
}

// dryRunSkip says why a dry run cannot check the object: what it needs is
// created by the same apply, and a dry run creates nothing.
func (a *Applier) dryRunSkip(it item, namespaces map[string]bool) string {
	if it.mapping == nil {
		return fmt.Sprintf("its kind is defined by CustomResourceDefinition %s, which this apply creates", it.crd)
	}
	if ns := it.GetNamespace(); ns != "" && namespaces[ns] {
		return fmt.Sprintf("its namespace %q does not exist yet; this apply creates it", ns)
	}
	return ""
}

// plan checks and normalises objs and orders them, before anything is sent.
func (a *Applier) plan(ctx context.Context, objs []Object) ([]item, error) {
	invalid := func(o Object, format string, args ...any) error {
		return &Error{Object: o.String(), Source: o.Source, reason: fmt.Sprintf(format, args...), kind: ErrInvalidObject}
	}
	if len(objs) == 0 {
		return nil, &Error{reason: "no objects to apply; check that the manifests are not empty", kind: ErrInvalidObject}
	}
	items := make([]item, 0, len(objs)+1)
	crdKinds := map[schema.GroupKind]*unstructured.Unstructured{}
	for i, o := range objs {
		if o.Unstructured == nil {
			return nil, invalid(Object{Source: o.Source}, "object %d is empty", i+1)
		}
		u := o.DeepCopy()
		gvk := u.GroupVersionKind()
		if gvk.Kind == "" || gvk.Version == "" {
			return nil, &Error{Object: describe("object", u.GetNamespace(), u.GetName()), Source: o.Source,
				reason: "it has no apiVersion or kind; every object needs both, e.g. apiVersion: apps/v1, kind: Deployment", kind: ErrInvalidObject}
		}
		if u.GetName() == "" {
			hint := ""
			if u.GetGenerateName() != "" {
				hint = " (server-side apply cannot use generateName)"
			}
			return nil, invalid(Object{Unstructured: u, Source: o.Source}, "it has no metadata.name%s; give it a name", hint)
		}
		strip(u)
		if gvk.GroupKind() == gkCRD {
			group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
			crdKinds[schema.GroupKind{Group: group, Kind: kind}] = u
		}
		items = append(items, item{Object: Object{Unstructured: u, Source: o.Source}, gvk: gvk})
	}

	type key struct {
		gk        schema.GroupKind
		namespace string
		name      string
	}
	seen := map[key]item{}
	for i := range items {
		it := &items[i]
		m, err := a.mapper.RESTMappingWithContext(ctx, it.gvk.GroupKind(), it.gvk.Version)
		namespaced := false
		switch {
		case err == nil:
			it.mapping = m
			namespaced = m.Scope.Name() == meta.RESTScopeNameNamespace
		case meta.IsNoMatchError(err) && crdKinds[it.gvk.GroupKind()] != nil:
			crd := crdKinds[it.gvk.GroupKind()]
			it.crd = crd.GetName()
			scope, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
			namespaced = scope != "Cluster"
		case meta.IsNoMatchError(err):
			return nil, a.unknownKind(ctx, it.Object, it.gvk)
		default:
			e := a.classify(it.Object, schema.GroupVersionResource{}, "discover", err)
			if !isTransport(err) {
				e.reason = fmt.Sprintf("finding the resource for %s: %v", it.gvk, err)
			}
			return nil, e
		}
		if namespaced {
			if it.GetNamespace() == "" {
				it.SetNamespace(a.opts.namespace)
			}
		} else {
			// kubectl ignores a namespace on a cluster-scoped object too; sent,
			// it would make a URL the server answers with 404.
			it.SetNamespace("")
		}
		k := key{it.gvk.GroupKind(), it.GetNamespace(), it.GetName()}
		if prev, dup := seen[k]; dup {
			return nil, invalid(it.Object, "it is given twice (also %s); keep one", prev.origin())
		}
		seen[k] = *it
	}

	if a.opts.createNamespace {
		if _, ok := seen[key{gkNamespace, "", a.opts.namespace}]; !ok {
			ns := &unstructured.Unstructured{}
			ns.SetAPIVersion("v1")
			ns.SetKind("Namespace")
			ns.SetName(a.opts.namespace)
			m, err := a.mapper.RESTMappingWithContext(ctx, gkNamespace, "v1")
			if err != nil {
				return nil, a.classify(Object{Unstructured: ns}, schema.GroupVersionResource{}, "discover", err)
			}
			items = append(items, item{
				Object: Object{Unstructured: ns, Source: a.opts.names.Of(FieldCreateNamespace)},
				gvk:    ns.GroupVersionKind(), mapping: m, ensure: true,
			})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return rank(items[i].gvk.GroupKind()) < rank(items[j].gvk.GroupKind()) })
	return items, nil
}

// strip removes what the server owns from an object given to apply. A manifest
// saved with kubectl get -o yaml carries them, and a resourceVersion there
// would make the apply a compare-and-swap that fails once the object changes.
func strip(u *unstructured.Unstructured) {
	for _, f := range []string{"resourceVersion", "uid", "managedFields", "creationTimestamp", "generation", "selfLink", "deletionTimestamp"} {
		unstructured.RemoveNestedField(u.Object, "metadata", f)
	}
}

func (a *Applier) unknownKind(ctx context.Context, o Object, gvk schema.GroupVersionKind) error {
	var served []string
	if ms, err := a.mapper.RESTMappingsWithContext(ctx, gvk.GroupKind()); err == nil {
		for _, m := range ms {
			served = append(served, m.GroupVersionKind.GroupVersion().String())
		}
	} else if gvks, err := a.mapper.KindsForWithContext(ctx, schema.GroupVersionResource{Resource: strings.ToLower(gvk.Kind)}); err == nil {
		for _, g := range gvks {
			if g.Kind == gvk.Kind {
				served = append(served, g.GroupVersion().String())
			}
		}
	}
	reason := fmt.Sprintf("the cluster serves no kind %q in apiVersion %q", gvk.Kind, gvk.GroupVersion())
	if len(served) > 0 {
		sort.Strings(served)
		reason += fmt.Sprintf("; it serves %s as apiVersion %s: use that", gvk.Kind, strings.Join(dedup(served), " or "))
	} else {
		reason += "; fix apiVersion and kind, or install the CustomResourceDefinition that defines the kind first (or add it to the manifests)"
	}
	return &Error{Object: describe(gvk.Kind, o.GetNamespace(), o.GetName()), Source: o.Source, reason: reason, kind: ErrUnknownKind}
}

func dedup(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (a *Applier) resource(m *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource).Namespace(ns)
	}
	return a.dyn.Resource(m.Resource)
}

func (a *Applier) applyOne(ctx context.Context, it item) (Applied, error) {
	gvr := it.mapping.Resource
	ri := a.resource(it.mapping, it.GetNamespace())
	existing := it.existing
	if !it.fetched {
		var err *Error
		if existing, err = a.get(ctx, it); err != nil {
			return Applied{}, err
		}
	}
	var err error
	out := Applied{GVK: it.gvk, Resource: gvr, Namespace: it.GetNamespace(), Name: it.GetName(), Source: it.Source, Before: existing}
	if it.ensure && existing != nil {
		out.Action = Unchanged
		fill(&out, existing)
		return out, nil
	}
	if isWorkload(it.gvk.GroupKind()) {
		if out.Previous, err = a.previous(ctx, it, existing); err != nil {
			return Applied{}, err
		}
	}

	data, err := json.Marshal(it.Object.Object)
	if err != nil {
		return Applied{}, &Error{Object: it.String(), Source: it.Source, reason: fmt.Sprintf("encoding it: %v", err), kind: ErrInvalidObject}
	}
	applied, err := a.patch(ctx, ri, it.GetName(), data)
	switch {
	case err != nil && it.gvk.GroupKind() == gkJob && existing != nil && immutable(err):
		applied, out.Note, err = a.replaceJob(ctx, ri, it, existing, out.Previous, data, err)
		if err != nil {
			return Applied{}, err
		}
		out.Action = Replaced
	case err != nil:
		return Applied{}, a.classify(it.Object, gvr, "patch", err)
	case existing == nil:
		out.Action = Created
	case a.changed(existing, applied):
		out.Action = Configured
	default:
		out.Action = Unchanged
	}
	fill(&out, applied)
	return out, nil
}

// prefetchJobs bounds the reads in flight before an apply.
const prefetchJobs = 8

// prefetch reads every object whose kind is known, all at once: what exists
// decides the action and the revision to roll back to, and a read that fails
// (RBAC, say) fails the apply before anything is written. It halves the
// round trips made one after the other, which dominate on a distant cluster.
func (a *Applier) prefetch(ctx context.Context, plan []item) *Error {
	errs := make([]*Error, len(plan))
	var g errgroup.Group
	g.SetLimit(prefetchJobs)
	for i := range plan {
		if plan[i].mapping == nil {
			continue
		}
		g.Go(func() error {
			var err *Error
			plan[i].existing, err = a.get(ctx, plan[i])
			plan[i].fetched = err == nil
			errs[i] = err
			return nil
		})
	}
	_ = g.Wait()
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (a *Applier) get(ctx context.Context, it item) (*unstructured.Unstructured, *Error) {
	u, err := a.resource(it.mapping, it.GetNamespace()).Get(ctx, it.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, a.classify(it.Object, it.mapping.Resource, "get", err)
	}
	return u, nil
}

func (a *Applier) patchOptions() metav1.PatchOptions {
	force := a.opts.force
	po := metav1.PatchOptions{
		FieldManager: a.opts.fieldManager,
		Force:        &force,
		// Strict: an unknown or duplicated field is an error, not a warning
		// and a silently dropped setting.
		FieldValidation: metav1.FieldValidationStrict,
	}
	if a.opts.dryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	return po
}

func fill(out *Applied, u *unstructured.Unstructured) {
	out.UID = u.GetUID()
	out.Generation = u.GetGeneration()
	out.ResourceVersion = u.GetResourceVersion()
	out.Object = u
}

// changed tells whether the apply changed the object. The resourceVersion
// alone cannot tell: a controller may write the status between the read and
// the apply. Server-side apply stamps our managedFields entry when it changes
// something; within the same second the stamp stays, so then the objects are
// compared without what controllers and every write change.
func (a *Applier) changed(before, after *unstructured.Unstructured) bool {
	if !a.opts.dryRun && before.GetResourceVersion() == after.GetResourceVersion() {
		return false
	}
	eb, ea := a.entry(before), a.entry(after)
	if eb == nil || ea == nil || !eb.Time.Equal(ea.Time) || !equality.Semantic.DeepEqual(eb.FieldsV1, ea.FieldsV1) {
		return true
	}
	b, c := before.DeepCopy(), after.DeepCopy()
	for _, u := range []*unstructured.Unstructured{b, c} {
		unstructured.RemoveNestedField(u.Object, "status")
		for _, f := range []string{"resourceVersion", "managedFields", "generation"} {
			unstructured.RemoveNestedField(u.Object, "metadata", f)
		}
	}
	return !equality.Semantic.DeepEqual(b.Object, c.Object)
}

// entry is the managedFields entry of this Applier's applies.
func (a *Applier) entry(u *unstructured.Unstructured) *metav1.ManagedFieldsEntry {
	for _, e := range u.GetManagedFields() {
		if e.Manager == a.opts.fieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
			return &e
		}
	}
	return nil
}

// immutable tells whether the server refused to change a field that cannot
// change once set.
func immutable(err error) bool {
	return apierrors.IsInvalid(err) && strings.Contains(serverMessage(err), "field is immutable")
}
