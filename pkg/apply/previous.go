package apply

import (
	"context"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// revisionAnnotation is where the Deployment controller numbers a
// Deployment's revisions, on the Deployment and on each of its ReplicaSets.
const revisionAnnotation = "deployment.kubernetes.io/revision"

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
		p.Revision = existing.GetAnnotations()[revisionAnnotation]
		p.RevisionNumber, _ = strconv.ParseInt(p.Revision, 10, 64)
	case gkStatefulSet:
		p.Revision, _, _ = unstructured.NestedString(existing.Object, "status", "updateRevision")
		p.CurrentRevision, _, _ = unstructured.NestedString(existing.Object, "status", "currentRevision")
	case gkDaemonSet:
		// A DaemonSet's status does not name its revision: the newest of the
		// ControllerRevisions it controls is the one of its template.
		name, n, err := a.newestRevision(ctx, existing)
		if err != nil {
			return nil, a.classify(it.Object, gvrControllerRevisions, "list", err)
		}
		p.Revision, p.RevisionNumber = name, n
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

func (a *Applier) newestRevision(ctx context.Context, ds *unstructured.Unstructured) (string, int64, error) {
	opts := metav1.ListOptions{}
	if sel, ok, _ := unstructured.NestedMap(ds.Object, "spec", "selector"); ok {
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(sel, &ls); err == nil {
			if s, err := metav1.LabelSelectorAsSelector(&ls); err == nil {
				opts.LabelSelector = s.String()
			}
		}
	}
	list, err := a.dyn.Resource(gvrControllerRevisions).Namespace(ds.GetNamespace()).List(ctx, opts)
	if err != nil {
		return "", 0, err
	}
	var name string
	var newest int64
	for _, cr := range list.Items {
		if owner := metav1.GetControllerOfNoCopy(&cr); owner == nil || owner.UID != ds.GetUID() {
			continue
		}
		if n, _, _ := unstructured.NestedInt64(cr.Object, "revision"); n > newest {
			name, newest = cr.GetName(), n
		}
	}
	return name, newest, nil
}

func jobFinished(job *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(job.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if (m["type"] == "Complete" || m["type"] == "Failed") && m["status"] == "True" {
			return true
		}
	}
	return false
}
