package apply

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// The labels and annotations of the ApplySet specification (KEP 3659,
// sig-cli "kubectl apply --prune" redesign), as kubectl apply --applyset
// writes them, so that either tool reads what the other recorded.
const (
	// ApplySetIDLabel on the parent object makes it an ApplySet parent; its
	// value is the set's ID.
	ApplySetIDLabel = "applyset.kubernetes.io/id"
	// ApplySetPartOfLabel on an object makes it a member of the set whose ID
	// is its value.
	ApplySetPartOfLabel = "applyset.kubernetes.io/part-of"
	// ApplySetToolingAnnotation names the tool that manages the set,
	// "<tool>/<version>"; a tool leaves the sets of other tools alone.
	ApplySetToolingAnnotation = "applyset.kubernetes.io/tooling"
	// ApplySetKindsAnnotation lists the group-kinds of the members,
	// "Kind.group" comma-separated: where to look for members to prune.
	ApplySetKindsAnnotation = "applyset.kubernetes.io/contains-group-kinds"
	// ApplySetNamespacesAnnotation lists the namespaces of members besides
	// the parent's own.
	ApplySetNamespacesAnnotation = "applyset.kubernetes.io/additional-namespaces"
)

// applySetTooling is this tool's value of ApplySetToolingAnnotation.
const applySetTooling = "deploy-action/v1"

// Pruned: the object was in the ApplySet of an earlier release and is no longer
// in the manifests; it was deleted (in a dry run: would be).
const Pruned Action = "pruned"

var gvrSecrets = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// WithApplySet records what each apply owns as an ApplySet whose parent is the
// Secret name in the namespace of WithNamespace: every applied object gets the
// label applyset.kubernetes.io/part-of, and the parent lists their kinds and
// namespaces. Applier.Prune then deletes the members an apply no longer has.
// A Secret of that name that is not the parent of a set of this tool's is
// never changed: the apply fails instead.
func WithApplySet(name string) Option {
	return func(o *options) error {
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			return field.Errorf(FieldApplySet, "%q is not a Secret name (%s); use lower-case letters, digits, '-' and '.', such as %q", name, errs[0], DefaultApplySet)
		}
		o.applySet = name
		return nil
	}
}

// DefaultApplySet is the name of the parent Secret when none is given.
const DefaultApplySet = "deploy-action"

// ApplySetID is the ID of the ApplySet whose parent is the Secret name in
// namespace, as the specification defines it:
// "applyset-" + base64url(sha256("<name>.<namespace>.<kind>.<group>")) + "-v1".
func ApplySetID(name, namespace string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{name, namespace, "Secret", ""}, ".")))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

// ApplySet is what an apply recorded of its set.
type ApplySet struct {
	// Parent names the parent object: "Secret shop/deploy-action".
	Parent string
	ID     string
	// Kinds and Namespaces are where members may be: those of the earlier
	// releases and of this one.
	Kinds      []schema.GroupKind
	Namespaces []string

	name, namespace string
	current         sets.Set[schema.GroupKind]
	currentNS       sets.Set[string]
}

// applySetBefore reads the parent, refuses one that is not a set of this
// tool's, labels every object of the plan as a member, and, before anything is
// applied, widens the parent's record to the kinds and namespaces of both the
// earlier releases and this one: an apply cut short leaves no member the next
// prune cannot find.
func (a *Applier) applySetBefore(ctx context.Context, plan []item, res *Result) *Error {
	if a.opts.applySet == "" {
		return nil
	}
	ns := a.opts.namespace
	set := &ApplySet{Parent: describe("Secret", ns, a.opts.applySet), ID: ApplySetID(a.opts.applySet, ns),
		name: a.opts.applySet, namespace: ns, current: sets.New[schema.GroupKind](), currentNS: sets.New[string]()}
	parentObj := Object{Unstructured: parent(set, nil, nil), Source: a.opts.names.Of(FieldApplySet)}
	ri := a.dyn.Resource(gvrSecrets).Namespace(ns)
	kinds, namespaces := sets.New[schema.GroupKind](), sets.New[string]()
	live, err := ri.Get(ctx, set.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return a.classify(parentObj, gvrSecrets, "get", err)
	default:
		if e := checkParent(set, live); e != nil {
			e.Object, e.Source = parentObj.String(), parentObj.Source
			return e
		}
		kinds, namespaces = parseParent(live)
	}
	for i := range plan {
		it := &plan[i]
		if it.ensure {
			continue // the namespace of create-namespace is never pruned
		}
		labels := it.GetLabels()
		if v, ok := labels[ApplySetPartOfLabel]; ok && v != set.ID {
			return &Error{Object: it.String(), Source: it.Source, kind: ErrInvalidObject,
				reason: fmt.Sprintf("it carries the label %s=%s of another ApplySet; remove the label from the manifest", ApplySetPartOfLabel, v)}
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[ApplySetPartOfLabel] = set.ID
		it.SetLabels(labels)
		set.current.Insert(it.gvk.GroupKind())
		if it.GetNamespace() != "" && it.GetNamespace() != ns {
			set.currentNS.Insert(it.GetNamespace())
		}
	}
	kinds, namespaces = kinds.Union(set.current), namespaces.Union(set.currentNS)
	set.Kinds, set.Namespaces = sortedKinds(kinds), sets.List(namespaces)
	res.ApplySet = set
	if a.opts.dryRun {
		return nil
	}
	if err := a.writeParent(ctx, set, kinds, namespaces); err != nil {
		if apierrors.IsNotFound(err) {
			// The namespace does not exist yet (this apply creates it), so
			// there is no earlier set to widen; Prune writes the parent.
			return nil
		}
		return a.classify(parentObj, gvrSecrets, "patch", err)
	}
	return nil
}

func checkParent(set *ApplySet, live *unstructured.Unstructured) *Error {
	tool := live.GetAnnotations()[ApplySetToolingAnnotation]
	base, _, _ := strings.Cut(tool, "/")
	switch {
	case tool == "":
		return &Error{kind: ErrRejected, reason: fmt.Sprintf("the Secret exists and is not the parent of an ApplySet (no annotation %s), so it is left alone; choose another applyset name", ApplySetToolingAnnotation)}
	case base != "deploy-action":
		return &Error{kind: ErrRejected, reason: fmt.Sprintf("the Secret is the parent of an ApplySet of %q, not of deploy-action, so it is left alone; choose another applyset name", tool)}
	case live.GetLabels()[ApplySetIDLabel] != set.ID:
		return &Error{kind: ErrRejected, reason: fmt.Sprintf("the Secret's label %s is %q, not %q; it is left alone: choose another applyset name", ApplySetIDLabel, live.GetLabels()[ApplySetIDLabel], set.ID)}
	}
	return nil
}

func parseParent(live *unstructured.Unstructured) (sets.Set[schema.GroupKind], sets.Set[string]) {
	kinds, namespaces := sets.New[schema.GroupKind](), sets.New[string]()
	ann := live.GetAnnotations()
	for _, s := range strings.Split(ann[ApplySetKindsAnnotation], ",") {
		if s = strings.TrimSpace(s); s != "" {
			kinds.Insert(schema.ParseGroupKind(s))
		}
	}
	for _, s := range strings.Split(ann[ApplySetNamespacesAnnotation], ",") {
		if s = strings.TrimSpace(s); s != "" {
			namespaces.Insert(s)
		}
	}
	return kinds, namespaces
}

// parent is the parent Secret's applied configuration.
func parent(set *ApplySet, kinds sets.Set[schema.GroupKind], namespaces sets.Set[string]) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Secret")
	u.SetName(set.name)
	u.SetNamespace(set.namespace)
	u.SetLabels(map[string]string{ApplySetIDLabel: set.ID})
	var ks []string
	for _, gk := range sortedKinds(kinds) {
		ks = append(ks, gk.String())
	}
	u.SetAnnotations(map[string]string{
		ApplySetToolingAnnotation:    applySetTooling,
		ApplySetKindsAnnotation:      strings.Join(ks, ","),
		ApplySetNamespacesAnnotation: strings.Join(sets.List(namespaces), ","),
	})
	return u
}

func (a *Applier) writeParent(ctx context.Context, set *ApplySet, kinds sets.Set[schema.GroupKind], namespaces sets.Set[string]) error {
	data, err := json.Marshal(parent(set, kinds, namespaces).Object)
	if err != nil {
		return err
	}
	// The parent is this tool's own record (checkParent made sure): forced.
	force := true
	_, err = a.dyn.Resource(gvrSecrets).Namespace(set.namespace).Patch(ctx, set.name, types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: a.opts.fieldManager, Force: &force})
	return err
}

func sortedKinds(s sets.Set[schema.GroupKind]) []schema.GroupKind {
	out := s.UnsortedList()
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Prune deletes the members of the ApplySet (WithApplySet) that res, this
// Applier's apply, no longer has: objects an earlier release applied and the
// manifests dropped since. Only objects that carry the set's part-of label are
// considered, in the kinds and namespaces the parent records; an object of the
// same name that is not a member is never touched. Then the parent records
// this release's kinds and namespaces only. A dry run deletes nothing and
// writes nothing: res.Pruned lists what would go.
//
// Call it once the release is known good (rolled out): a release rolled back
// still has its objects.
func (a *Applier) Prune(ctx context.Context, res *Result) error {
	if a.opts.applySet == "" || res == nil || res.ApplySet == nil {
		return errors.New("apply: Prune needs WithApplySet and the Result of this Applier's Apply")
	}
	set := res.ApplySet
	keep := sets.New[string]()
	uids := sets.New[types.UID]()
	for _, o := range res.Objects {
		keep.Insert(memberKey(o.GVK.GroupKind(), o.Namespace, o.Name))
		if o.UID != "" {
			uids.Insert(o.UID)
		}
	}
	namespaces := append([]string{set.namespace}, set.Namespaces...)
	sel := metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: map[string]string{ApplySetPartOfLabel: set.ID}})
	var errs []error
	for _, gk := range set.Kinds {
		m, err := a.mapper.RESTMappingWithContext(ctx, gk)
		if meta.IsNoMatchError(err) {
			fmt.Fprintf(a.opts.progress, "prune: the cluster no longer serves %s; none of its objects can be left\n", gk)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("finding the resource of %s: %w", gk, err))
			continue
		}
		scopes := namespaces
		if m.Scope.Name() != meta.RESTScopeNameNamespace {
			scopes = []string{""}
		}
		for _, ns := range scopes {
			pruned, err := a.pruneIn(ctx, m, ns, sel, set.ID, keep, uids)
			res.Pruned = append(res.Pruned, pruned...)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		// The parent keeps the wider record, so the next prune tries again.
		return fmt.Errorf("pruning ApplySet %s: %w", set.Parent, errors.Join(errs...))
	}
	if a.opts.dryRun {
		return nil
	}
	if err := a.writeParent(ctx, set, set.current, set.currentNS); err != nil {
		return fmt.Errorf("recording ApplySet %s after the prune: %w", set.Parent, err)
	}
	return nil
}

func memberKey(gk schema.GroupKind, ns, name string) string {
	return gk.String() + "/" + ns + "/" + name
}

func (a *Applier) pruneIn(ctx context.Context, m *meta.RESTMapping, ns, sel, id string, keep sets.Set[string], uids sets.Set[types.UID]) ([]Applied, error) {
	ri := a.resource(m, ns)
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil // the namespace is gone, and its members with it
		}
		return nil, fmt.Errorf("listing %s: %w", m.Resource.GroupResource(), err)
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return items[i].GetName() < items[j].GetName() })
	var out []Applied
	var errs []error
	for i := range items {
		u := &items[i]
		gk := m.GroupVersionKind.GroupKind()
		if u.GetLabels()[ApplySetPartOfLabel] != id || uids.Has(u.GetUID()) || keep.Has(memberKey(gk, u.GetNamespace(), u.GetName())) {
			continue
		}
		if u.GetDeletionTimestamp() != nil {
			continue
		}
		p := Applied{GVK: m.GroupVersionKind, Resource: m.Resource, Namespace: u.GetNamespace(), Name: u.GetName(), Action: Pruned, UID: u.GetUID(), Before: u}
		uid := u.GetUID()
		bg := metav1.DeletePropagationBackground
		del := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &bg}
		if a.opts.dryRun {
			del.DryRun = []string{metav1.DryRunAll}
			p.Note = "dry run: would be pruned"
		}
		if err := ri.Delete(ctx, u.GetName(), del); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting %s: %w", p, err))
			continue
		}
		suffix := ""
		if a.opts.dryRun {
			suffix = " (dry run)"
		}
		fmt.Fprintf(a.opts.progress, "%s: pruned%s: no longer in the manifests\n", p, suffix)
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}
