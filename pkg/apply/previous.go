package apply

import (
	"context"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/deploy-action/deploy-action/pkg/rollout"
)

var gvrControllerRevisions = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "controllerrevisions"}

// previous records what a workload is before the apply, for a rollback to
// exactly that.
func (a *Applier) previous(ctx context.Context, it item, existing *unstructured.Unstructured) (*Previous, error) {
	if existing == nil {
		return &Previous{}, nil
	}
	p := &Previous{
		Existed:    true,
		UID:        existing.GetUID(),
		Generation: existing.GetGeneration(),
	}
	p.ObservedGeneration, _, _ = unstructured.NestedInt64(existing.Object, "status", "observedGeneration")
	if t, ok, _ := unstructured.NestedMap(existing.Object, "spec", "template"); ok {
		p.Template = t // NestedMap returns a deep copy
		p.Images = images(t)
	}
	switch it.gvk.GroupKind() {
	case gkDeployment:
		p.Revision = existing.GetAnnotations()[rollout.RevisionAnnotation]
		p.RevisionNumber, _ = strconv.ParseInt(p.Revision, 10, 64)
	case gkStatefulSet:
		p.Revision, _, _ = unstructured.NestedString(existing.Object, "status", "updateRevision")
		p.CurrentRevision, _, _ = unstructured.NestedString(existing.Object, "status", "currentRevision")
		revs, _, err := a.controllerRevisions(ctx, existing)
		if err != nil {
			return nil, a.classify(it.Object, gvrControllerRevisions, "list", err)
		}
		// The revision its pods run: an earlier rollout may not have finished.
		live := p.CurrentRevision
		if live == "" {
			live = p.Revision
		}
		p.RevisionNumber = revs[live]
	case gkDaemonSet:
		// A DaemonSet's status does not name its revision: the newest of the
		// ControllerRevisions it controls is the one of its template.
		revs, name, err := a.controllerRevisions(ctx, existing)
		if err != nil {
			return nil, a.classify(it.Object, gvrControllerRevisions, "list", err)
		}
		p.Revision, p.RevisionNumber = name, revs[name]
	case gkJob:
		p.Finished = jobFinished(existing)
	}
	return p, nil
}

func images(template map[string]any) map[string]string {
	out := map[string]string{}
	for _, field := range []string{"initContainers", "containers"} {
		cs, _, _ := unstructured.NestedSlice(template, "spec", field)
		for _, c := range cs {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			name, _ := m["name"].(string)
			image, _ := m["image"].(string)
			out[name] = image
		}
	}
	return out
}

// controllerRevisions returns the numbers of the ControllerRevisions owner
// controls, by name, and the name of the newest.
func (a *Applier) controllerRevisions(ctx context.Context, owner *unstructured.Unstructured) (map[string]int64, string, error) {
	opts := metav1.ListOptions{}
	if sel, ok, _ := unstructured.NestedMap(owner.Object, "spec", "selector"); ok {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &ls); err == nil {
			if s, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
				opts.LabelSelector = s.String()
			}
		}
	}
	list, err := a.dyn.Resource(gvrControllerRevisions).Namespace(owner.GetNamespace()).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	revs := map[string]int64{}
	var newest string
	for _, cr := range list.Items {
		if ref := metav1.GetControllerOfNoCopy(&cr); ref == nil || ref.UID != owner.GetUID() {
			continue
		}
		n, _, _ := unstructured.NestedInt64(cr.Object, "revision")
		revs[cr.GetName()] = n
		if newest == "" || n > revs[newest] {
			newest = cr.GetName()
		}
	}
	return revs, newest, nil
}

// jobFinished: the Job's outcome is decided. SuccessCriteriaMet and
// FailureTarget come first, while the controller still terminates the pods
// and before Complete or Failed: the rollout watch counts them as the end of
// the Job, so the next release may replace it as soon as the watch is done.
func jobFinished(job *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(job.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		switch m["type"] {
		case "Complete", "Failed", "SuccessCriteriaMet", "FailureTarget":
		default:
			continue
		}
		if m["status"] == "True" {
			return true
		}
	}
	return false
}
