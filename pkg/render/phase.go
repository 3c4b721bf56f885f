package render

import (
	"fmt"
	"sort"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
)

// Phase is one step of a release, applied after the one before it is done:
// the pre-install or pre-upgrade hooks, the release's own objects, then the
// post-install or post-upgrade hooks.
type Phase struct {
	// Event is the hook event the phase runs (release.HookPreUpgrade, say),
	// or "" for the release's own objects.
	Event release.HookEvent
	// Objects are in the order to apply them. A hook phase applies them one
	// at a time, each finished (a Job completed) before the next; the
	// release's own objects are ordered by the apply.
	Objects []Object
	// Hooks parallels Objects in a hook phase: each object's weight and
	// delete policies as Helm reads them from its annotations. Nil for the
	// release's own objects.
	Hooks []*release.Hook
}

// IsHook reports whether the phase runs hooks.
func (p Phase) IsHook() bool { return p.Event != "" }

// String names the phase for people: "pre-upgrade hooks", "manifests".
func (p Phase) String() string {
	if !p.IsHook() {
		return "manifests"
	}
	return string(p.Event) + " hooks"
}

// Phases splits a release's objects into the phases a release applies them
// in, as helm install and helm upgrade do, for objects of any source: a Helm
// chart's hooks, and plain or kustomized objects that carry the same
// helm.sh/hook annotation (as Argo CD honours it).
//
// upgrade chooses the events: pre-upgrade and post-upgrade when the release
// exists already, pre-install and post-install for a first release. Hooks of
// other events (test, delete, rollback) are in no phase. Within a hook phase
// the order is Helm's: by helm.sh/hook-weight, then by name, and among equals
// by Helm's install order of kinds. A hook without helm.sh/hook-delete-policy
// gets before-hook-creation, Helm's default.
//
// The release's own phase is always there, even when empty; a hook phase only
// when it has hooks.
func Phases(objects []Object, upgrade bool) ([]Phase, error) {
	hooks, err := readHooks(objects)
	if err != nil {
		return nil, err
	}
	pre, post := release.HookPreInstall, release.HookPostInstall
	if upgrade {
		pre, post = release.HookPreUpgrade, release.HookPostUpgrade
	}
	main := Phase{}
	for i, o := range objects {
		if hooks[i] == nil {
			main.Objects = append(main.Objects, o)
		}
	}
	var out []Phase
	if p := hookPhase(objects, hooks, pre); len(p.Objects) > 0 {
		out = append(out, p)
	}
	out = append(out, main)
	if p := hookPhase(objects, hooks, post); len(p.Objects) > 0 {
		out = append(out, p)
	}
	return out, nil
}

// releaseEvents are the hook events a release (install or upgrade) runs.
var releaseEvents = []release.HookEvent{release.HookPreInstall, release.HookPreUpgrade, release.HookPostInstall, release.HookPostUpgrade}

// hookPhase gathers the hooks of event in Helm's order: SortManifests has put
// them in its install order of kinds; helm's execHook then sorts them, stably,
// by weight and name (action.hookByWeight).
func hookPhase(objects []Object, hooks []*release.Hook, event release.HookEvent) Phase {
	type entry struct {
		o Object
		h *release.Hook
	}
	var es []entry
	for _, i := range hookOrder(hooks) {
		if hasEvent(hooks[i], event) {
			es = append(es, entry{objects[i], hooks[i]})
		}
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].h.Weight != es[j].h.Weight {
			return es[i].h.Weight < es[j].h.Weight
		}
		return es[i].h.Name < es[j].h.Name
	})
	p := Phase{Event: event}
	for _, e := range es {
		p.Objects = append(p.Objects, e.o)
		p.Hooks = append(p.Hooks, e.h)
	}
	return p
}

// hookOrder lists the indexes of the hooks in Helm's install order of kinds,
// objects of one kind in the order given.
func hookOrder(hooks []*release.Hook) []int {
	var idx []int
	for i, h := range hooks {
		if h != nil {
			idx = append(idx, i)
		}
	}
	order := map[string]int{}
	for i, k := range releaseutil.InstallOrder {
		order[k] = i
	}
	rank := func(kind string) int {
		if r, ok := order[kind]; ok {
			return r
		}
		return len(order) // unknown kinds last, as Helm puts them
	}
	sort.SliceStable(idx, func(a, b int) bool { return rank(hooks[idx[a]].Kind) < rank(hooks[idx[b]].Kind) })
	return idx
}

// readHooks returns, for each object, its hook as Helm reads it, or nil for
// an object that is no hook. The annotations are read by Helm's own
// releaseutil.SortManifests (events, weight, delete policies, with Helm's
// lenience: an unreadable weight is 0), one object at a time, so that an
// object means here what it means to helm.
func readHooks(objects []Object) ([]*release.Hook, error) {
	out := make([]*release.Hook, len(objects))
	for i, o := range objects {
		if o.Node == nil {
			continue
		}
		anno, ok := o.Node.GetAnnotations()[release.HookAnnotation]
		if !ok {
			continue
		}
		text, err := Encode([]Object{o})
		if err != nil {
			return nil, err
		}
		hooks, _, err := releaseutil.SortManifests(map[string]string{"object.yaml": string(text)}, nil, releaseutil.InstallOrder)
		if err != nil {
			return nil, &ObjectError{Source: o.Source, Msg: fmt.Sprintf("reading the hook annotations of %s: %v", o.ID(), err)}
		}
		if len(hooks) != 1 {
			// SortManifests drops a hook with an event it does not know.
			return nil, &ObjectError{Source: o.Source, Msg: fmt.Sprintf(
				"%s: annotation %s: %q names an event Helm does not know; use pre-install, pre-upgrade, post-install, post-upgrade (or test, pre-delete, post-delete, pre-rollback, post-rollback, which a release does not run), separated by commas",
				o.ID(), release.HookAnnotation, anno)}
		}
		h := hooks[0]
		h.Path = o.Source
		if len(h.DeletePolicies) == 0 {
			h.DeletePolicies = []release.HookDeletePolicy{release.HookBeforeHookCreation}
		}
		out[i] = h
	}
	return out, nil
}

// releaseHooks drops the hooks no release runs (test, delete, rollback): they
// are never applied as part of a release, whatever their source.
func releaseHooks(objects []Object) ([]Object, error) {
	hooks, err := readHooks(objects)
	if err != nil {
		return nil, err
	}
	out := objects[:0:0]
	for i, o := range objects {
		if hooks[i] == nil || hasEvent(hooks[i], releaseEvents...) {
			out = append(out, o)
		}
	}
	return out, nil
}

// HookDeletes reports whether h is deleted on policy p.
func HookDeletes(h *release.Hook, p release.HookDeletePolicy) bool {
	if h == nil || h.Kind == "CustomResourceDefinition" {
		// Helm never deletes a CustomResourceDefinition hook: the garbage
		// collection of its resources would cascade.
		return false
	}
	for _, x := range h.DeletePolicies {
		if x == p {
			return true
		}
	}
	return false
}
