package rollback

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
)

// How a template is restored. kubectl rollout undo patches it: that puts back
// exactly the old template, whoever owns which field. But a patch is an
// update: its fields then belong to "<manager>, Update", and the next
// server-side apply by the same manager conflicts with it on every field the
// new release changes ("conflict with "deploy-action" using apps/v1:
// ...image"); a same-value apply afterwards only shares the fields, it does
// not take them back. So when the workload is server-side applied by the
// manager, the restore is itself an apply: the manager's applied configuration
// with the previous template, forced. What the failed release added leaves the
// applied configuration and is removed; the next deploy applies cleanly. Fields
// another manager set would survive that, so the result is checked, and the
// patch is the fallback. The apply is forced only when the deploy forces
// conflicts: a field another manager took since is not taken back silently.

func appliedBy(obj metav1.Object, manager string) bool {
	for _, m := range obj.GetManagedFields() {
		if m.Manager == manager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

func templateConfig(t *corev1.PodTemplateSpec) (*corev1ac.PodTemplateSpecApplyConfiguration, error) {
	data, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var ac corev1ac.PodTemplateSpecApplyConfiguration
	if err := json.Unmarshal(data, &ac); err != nil {
		return nil, err
	}
	return &ac, nil
}

// sameTemplate compares templates without the labels controllers add.
func sameTemplate(a, b *corev1.PodTemplateSpec) bool {
	a, b = a.DeepCopy(), b.DeepCopy()
	for _, t := range []*corev1.PodTemplateSpec{a, b} {
		delete(t.Labels, appsv1.DefaultDeploymentUniqueLabelKey)
		delete(t.Labels, appsv1.ControllerRevisionHashLabelKey)
		if len(t.Labels) == 0 {
			t.Labels = nil
		}
	}
	return equality.Semantic.DeepEqual(a, b)
}

// applyTemplate restores tmpl by a server-side apply of the manager's
// configuration, forced only with WithForceConflicts. It returns the written
// object, or nil and a note saying why the caller must patch instead. A
// conflict with another manager is a *ConflictError: patching over it would
// force it by other means.
func (r *Restorer) applyTemplate(ctx context.Context, obj metav1.Object, tmpl *corev1.PodTemplateSpec) (metav1.Object, string, error) {
	if !appliedBy(obj, r.o.fieldManager) {
		return nil, "", nil
	}
	ac, err := templateConfig(tmpl)
	if err != nil {
		return nil, fmt.Sprintf("; restored by a patch (%v)", err), nil
	}
	opts := metav1.ApplyOptions{FieldManager: r.o.fieldManager, Force: r.o.force}
	var got metav1.Object
	var live *corev1.PodTemplateSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		var cfg *appsv1ac.DeploymentApplyConfiguration
		if cfg, err = appsv1ac.ExtractDeployment(o, r.o.fieldManager); err == nil {
			if cfg.Spec == nil {
				cfg.WithSpec(appsv1ac.DeploymentSpec())
			}
			cfg.Spec.Template = ac
			var d *appsv1.Deployment
			if d, err = r.client.AppsV1().Deployments(o.Namespace).Apply(ctx, cfg, opts); err == nil {
				got, live = d, &d.Spec.Template
			}
		}
	case *appsv1.StatefulSet:
		var cfg *appsv1ac.StatefulSetApplyConfiguration
		if cfg, err = appsv1ac.ExtractStatefulSet(o, r.o.fieldManager); err == nil {
			if cfg.Spec == nil {
				cfg.WithSpec(appsv1ac.StatefulSetSpec())
			}
			cfg.Spec.Template = ac
			var s *appsv1.StatefulSet
			if s, err = r.client.AppsV1().StatefulSets(o.Namespace).Apply(ctx, cfg, opts); err == nil {
				got, live = s, &s.Spec.Template
			}
		}
	case *appsv1.DaemonSet:
		var cfg *appsv1ac.DaemonSetApplyConfiguration
		if cfg, err = appsv1ac.ExtractDaemonSet(o, r.o.fieldManager); err == nil {
			if cfg.Spec == nil {
				cfg.WithSpec(appsv1ac.DaemonSetSpec())
			}
			cfg.Spec.Template = ac
			var s *appsv1.DaemonSet
			if s, err = r.client.AppsV1().DaemonSets(o.Namespace).Apply(ctx, cfg, opts); err == nil {
				got, live = s, &s.Spec.Template
			}
		}
	default:
		return nil, "", nil
	}
	switch {
	case err != nil && apierrors.IsConflict(err) && !r.o.force:
		return nil, "", conflictError(err, r.o.names)
	case err != nil:
		return nil, fmt.Sprintf("; restored by a patch, as an apply failed (%v): the next server-side apply by %q must force conflicts", err, r.o.fieldManager), nil
	case !sameTemplate(live, tmpl):
		return nil, fmt.Sprintf("; restored by a patch, as fields of other managers than %q kept the applied template from matching revision's: the next server-side apply must force conflicts", r.o.fieldManager), nil
	}
	return got, "", nil
}
