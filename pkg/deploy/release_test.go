package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/rollback"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// TestWholeReleaseRollbackSaid: the sentence and the leftovers of a rollback
// name the objects that are not workloads it put back, and what it could not.
func TestWholeReleaseRollbackSaid(t *testing.T) {
	t.Parallel()
	gvk := func(group, kind string) schema.GroupVersionKind {
		return schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind}
	}
	web := rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web"}
	restore := rollback.Restore{Target: web, Action: rollback.Restored, From: 2, To: 1}
	rb := &rollback.Result{
		Objects: []rollback.Object{
			{Kind: "ConfigMap", Namespace: "shop", Name: "cfg", Action: rollback.Restored},
			{Kind: "Service", Namespace: "shop", Name: "admin", Action: rollback.Deleted},
			{Kind: "Secret", Namespace: "shop", Name: "db", Action: rollback.Failed, Message: "not restored: other field managers own fields the restore would change"},
			{Kind: "Deployment", Namespace: "shop", Name: "web", Action: rollback.Restored, Workload: &restore},
		},
		Workloads: []rollback.Restore{restore},
		Verdict:   &rollout.Verdict{Outcome: rollout.Succeeded},
	}
	assert.Equal(t, "rolled back deployment/web to revision 1, and the restore rolled out; restored ConfigMap shop/cfg, deleted Service shop/admin; "+
		"could not put back Secret shop/db: not restored: other field managers own fields the restore would change", rollbackSentence(rb))
	assert.False(t, rb.RolledBack(), "a failure is not a rollback")

	res := &Result{Apply: &apply.Result{Objects: []apply.Applied{
		{GVK: gvk("", "ConfigMap"), Namespace: "shop", Name: "cfg", Action: apply.Configured},
		{GVK: gvk("", "Service"), Namespace: "shop", Name: "admin", Action: apply.Created},
		{GVK: gvk("", "Secret"), Namespace: "shop", Name: "db", Action: apply.Configured},
		{GVK: gvk("apps", "Deployment"), Namespace: "shop", Name: "web", Action: apply.Configured, Previous: &apply.Previous{Existed: true}},
	}}, Rollback: rb}
	assert.Equal(t, "every workload this run changed is back at its previous revision; applied and kept as they are: Secret shop/db", leftovers(res))
}

// TestPrunedInTheSummary: the summary lists what prune deleted, or in a dry
// run what it would.
func TestPrunedInTheSummary(t *testing.T) {
	t.Parallel()
	pruned := []apply.Applied{{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespace: "shop", Name: "old", Action: apply.Pruned}}
	r := &Result{Outcome: Succeeded, Apply: &apply.Result{Pruned: pruned, ApplySet: &apply.ApplySet{Parent: "Secret shop/deploy-action"}}}
	assert.Contains(t, r.Markdown(), "#### Pruned: no longer in the manifests\n\n| Object | Action | ApplySet |\n| --- | --- | --- |\n| `ConfigMap shop/old` | pruned | Secret shop/deploy-action |\n")
	r.DryRun, r.Outcome = true, DryRun
	assert.Contains(t, r.Markdown(), "#### Would be pruned: no longer in the manifests")
}
