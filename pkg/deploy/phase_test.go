package deploy

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// The summary shows the hooks a release ran, a row each, and a failed hook
// Job's cause, which is also the run's "cause" output.
func TestHookRows(t *testing.T) {
	t.Parallel()
	job := func(name string) apply.Applied {
		return apply.Applied{GVK: schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, Namespace: "shop", Name: name,
			Action: apply.Created, Source: "chart/templates/" + name + ".yaml"}
	}
	settings := apply.Applied{GVK: schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Namespace: "shop", Name: "settings", Action: apply.Created}
	migrate := rollout.Target{Kind: rollout.Job, Namespace: "shop", Name: "migrate"}
	failed := &rollout.Verdict{Outcome: rollout.Failed, Workloads: []rollout.Workload{{Target: migrate, State: rollout.Broken,
		Cause: &rollout.Cause{Reason: rollout.JobFailed, Message: `job/migrate failed (BackoffLimitExceeded): container "migrate" exited with code 1`}}}}
	r := &Result{Outcome: Failed, Hooks: []HookRun{
		{Phase: "pre-upgrade", Applied: settings, Deleted: "hook-succeeded"},
		{Phase: "pre-upgrade", Applied: job("warm"), Verdict: &rollout.Verdict{Outcome: rollout.Succeeded,
			Workloads: []rollout.Workload{{Target: rollout.Target{Kind: rollout.Job, Namespace: "shop", Name: "warm"}, State: rollout.Ready, TimeToReady: 1200 * time.Millisecond}}}},
		{Phase: "pre-upgrade", Applied: job("migrate"), Recreated: true, Verdict: failed, Err: failed.Err()},
	}}
	md := r.Markdown()
	assert.Contains(t, md, "| pre-upgrade | `ConfigMap shop/settings` | created | ✅ applied (deleted: hook-succeeded) |")
	assert.Contains(t, md, "| pre-upgrade | `Job shop/warm` | created | ✅ completed in 1.2s | chart/templates/warm.yaml |")
	assert.Contains(t, md, "| pre-upgrade | `Job shop/migrate` | created (the previous one deleted first) | ❌ JobFailed |")
	assert.Contains(t, md, "#### `job/migrate`: JobFailed", "the failed hook's cause, as the watch states it")
	assert.Equal(t, `JobFailed: job/migrate failed (BackoffLimitExceeded): container "migrate" exited with code 1`, r.Cause())

	err := &HookError{Phase: "pre-upgrade", Object: "Job shop/migrate", Err: failed.Err()}
	assert.Contains(t, err.Error(), "pre-upgrade hook Job shop/migrate failed: job/migrate in namespace shop: JobFailed")
	var fe *rollout.FailureError
	assert.True(t, errors.As(err, &fe), "the watch's failure is in the chain")
}

// A pre hook's pods run as the release's ServiceAccount with its settings:
// on a first release those are created before the hook.
func TestPrerequisites(t *testing.T) {
	t.Parallel()
	parse := func(text string) []apply.Object {
		objs, err := render.Parse("release.yaml", []byte(text))
		require.NoError(t, err)
		out, err := toApply(objs)
		require.NoError(t, err)
		return out
	}
	hooks := parse(`apiVersion: batch/v1
kind: Job
metadata: {name: shop-migrate}
spec:
  template:
    spec:
      serviceAccountName: shop
      containers:
        - name: migrate
          image: shop
          envFrom: [{configMapRef: {name: shop-config}}]
          env: [{name: DB, valueFrom: {secretKeyRef: {name: shop-db, key: url}}}]
      volumes: [{name: certs, secret: {secretName: shop-certs}}]
`)
	main := parse(`apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-config}
---
apiVersion: v1
kind: Secret
metadata: {name: shop-certs, namespace: elsewhere}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: shop, namespace: prod}
`)
	var names []string
	for _, o := range prerequisites(hooks, main, "prod") {
		names = append(names, o.String())
	}
	assert.Equal(t, []string{"ConfigMap shop-config", "ServiceAccount prod/shop"}, names,
		"what the hook names, in the release's namespace; not the Secret of another namespace")
}
