package rollback

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// restoreRecorded puts back the pod template the apply recorded before the
// deploy (Target.Template), when the revision that held it is gone: a
// revisionHistoryLimit of 0, or a ReplicaSet or ControllerRevision deleted
// by hand or by the garbage collector.
func (r *Restorer) restoreRecorded(ctx context.Context, t Target, obj metav1.Object, current int64, live *corev1.PodTemplateSpec) (Restore, error) {
	tmpl := t.Template.DeepCopy()
	if sameTemplate(live, tmpl) {
		return Restore{Target: t.Target, Action: Unchanged, From: current, To: current, Images: images(live, live),
			Message: "the live pod template is the one recorded before the deploy: there is nothing to restore"}, nil
	}
	why := "no revision before the deploy is kept"
	if t.Previous > 0 {
		why = fmt.Sprintf("revision %d, live before the deploy, is no longer kept (revisionHistoryLimit, or deleted)", t.Previous)
	}
	rs := Restore{Target: t.Target, Action: Restored, From: current, To: max(t.Previous, 0), Images: images(live, tmpl),
		Message: "restored the pod template the apply recorded before the deploy, as " + why}
	written, note, err := r.applyTemplate(ctx, obj, tmpl)
	if err != nil {
		return Restore{}, err
	}
	if written == nil {
		if written, err = r.patchTemplate(ctx, t, tmpl); err != nil {
			return Restore{}, fmt.Errorf("restoring the recorded pod template: %w", err)
		}
	}
	rs.Generation = written.GetGeneration()
	rs.Message += note
	return rs, nil
}

// patchTemplate replaces the whole pod template, as kubectl rollout undo
// does, so that what the failed revision added (an env var, a volume) goes
// too.
func (r *Restorer) patchTemplate(ctx context.Context, t Target, tmpl *corev1.PodTemplateSpec) (metav1.Object, error) {
	patch, err := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
	if err != nil {
		return nil, err
	}
	apps := r.client.AppsV1()
	switch t.Kind {
	case rollout.Deployment:
		return apps.Deployments(t.Namespace).Patch(ctx, t.Name, types.JSONPatchType, patch, r.patchOptions())
	case rollout.StatefulSet:
		return apps.StatefulSets(t.Namespace).Patch(ctx, t.Name, types.JSONPatchType, patch, r.patchOptions())
	case rollout.DaemonSet:
		return apps.DaemonSets(t.Namespace).Patch(ctx, t.Name, types.JSONPatchType, patch, r.patchOptions())
	}
	return nil, fmt.Errorf("rollback: %s has no pod template to restore", t.Target)
}

// JobMessage is what a rollback says of a Job of the failed release. A Job
// has no revisions, and its pod template cannot change in place: the apply
// replaces a finished Job whose template changes (apply.Replaced) and leaves
// one whose template does not. So the Job is kept for its logs, the next
// deploy that changes it runs it again, and only a run of the same template
// needs it deleted first.
func JobMessage(namespace, name string) string {
	return fmt.Sprintf("a Job has no revisions to roll back to; it is kept for inspection (kubectl -n %s logs job/%s). "+
		"The next deploy that changes its pod template replaces it, as finished Jobs are replaced; to run the same template again, delete it first (kubectl -n %s delete job/%s)",
		namespace, name, namespace, name)
}
