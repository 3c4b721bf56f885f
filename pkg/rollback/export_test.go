package rollback

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// Revision reads the revision of a workload live now, as the apply records it
// before it writes (apply.Previous.RevisionNumber), for the tests that make
// their workloads with the clientset rather than through an apply:
// FirstDeploy when the workload does not exist, 0 when it has no revision yet
// (its controller has not seen it) or is a Job.
func Revision(ctx context.Context, client kubernetes.Interface, kind rollout.Kind, namespace, name string) (int64, error) {
	var rev int64
	var err error
	switch kind {
	case rollout.Deployment:
		var d interface{ GetAnnotations() map[string]string }
		d, err = client.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			rev = annotationRevision(d.GetAnnotations())
		}
	case rollout.StatefulSet:
		r := &Restorer{client: client}
		sts, gerr := client.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err = gerr; err == nil {
			revs, lerr := r.revisions(ctx, namespace, sts.Spec.Selector, sts.UID)
			if err = lerr; err == nil {
				live := sts.Status.CurrentRevision
				if live == "" {
					live = sts.Status.UpdateRevision
				}
				for _, x := range revs {
					if x.Name == live {
						rev = x.Revision
					}
				}
			}
		}
	case rollout.DaemonSet:
		r := &Restorer{client: client}
		ds, gerr := client.AppsV1().DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err = gerr; err == nil {
			revs, lerr := r.revisions(ctx, namespace, ds.Spec.Selector, ds.UID)
			if err = lerr; err == nil && len(revs) > 0 {
				rev = revs[len(revs)-1].Revision
			}
		}
	case rollout.Job:
		_, err = client.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	default:
		return 0, fmt.Errorf("rollback: %q is not a kind with revisions; use Deployment, StatefulSet, DaemonSet or Job", kind)
	}
	if apierrors.IsNotFound(err) {
		return FirstDeploy, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the revision of %s/%s in namespace %s: %w", kind, name, namespace, err)
	}
	return rev, nil
}
