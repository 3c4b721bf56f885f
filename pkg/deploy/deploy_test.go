package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/pkg/rollback"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

const shop = "../../e2e/testdata/shop/k8s"

func TestConfigRejectedWhenMade(t *testing.T) {
	t.Parallel()
	zero, neg := time.Duration(0), -time.Second
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
		want  string
	}{
		{"no manifests", Config{}, render.FieldPaths, "no manifests given"},
		{"unknown policy", Config{Manifests: render.Spec{Paths: []string{"k8s"}}, Unmatched: "maybe"}, FieldUnmatched, `"maybe" is not a policy`},
		{"zero timeout", Config{Manifests: render.Spec{Paths: []string{"k8s"}}, Timeout: &zero}, FieldTimeout, "0s is not a time a rollout can take"},
		{"negative grace", Config{Manifests: render.Spec{Paths: []string{"k8s"}}, Grace: &neg}, FieldGrace, "-1s is negative"},
		{"field manager too long", Config{Manifests: render.Spec{Paths: []string{"k8s"}}, FieldManager: strings.Repeat("m", 129)}, apply.FieldFieldManager, "is not a field manager name"},
		{"bad applyset", Config{Manifests: render.Spec{Paths: []string{"k8s"}}, Prune: true, ApplySet: "Shop_Set"}, apply.FieldApplySet, `"Shop_Set" is not a Secret name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			var fe *field.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tc.field, fe.Field)
			assert.ErrorContains(t, fe.Err, tc.want)
		})
	}
	_, err := New(Config{Manifests: render.Spec{Paths: []string{"k8s"}}, Grace: &zero})
	require.NoError(t, err, "a zero grace fails at the first unready pod")
}

// clients that are never contacted: Prepare renders and pins locally.
func offline(t *testing.T) *kube.Clients {
	c, err := kube.NewClients(&rest.Config{Host: "https://127.0.0.1:1"}, "shop")
	require.NoError(t, err)
	return c
}

func TestPrepare(t *testing.T) {
	t.Parallel()
	// A dry run's check is the deploy itself: Prepare contacts no server.
	ctx := context.Background()
	d, err := New(Config{Manifests: render.Spec{Paths: []string{shop}}, DryRun: true}, WithClients(offline(t)))
	require.NoError(t, err)
	require.NoError(t, d.Prepare(ctx, []string{"docker.io/acme/shop"}))
	assert.Len(t, d.objects, 4)
	assert.Equal(t, "shop", d.namespace, "the kubeconfig context's")

	// A pushed repository no container runs would deploy something else than
	// what was pushed: found before the build.
	d, err = New(Config{Manifests: render.Spec{Paths: []string{shop}}, DryRun: true}, WithClients(offline(t)), WithFieldNames(inputNames))
	require.NoError(t, err)
	err = d.Prepare(ctx, []string{"ghcr.io/acme/other"})
	require.ErrorContains(t, err, `pinning the images of input "manifests": `)
	var unmatched *pin.UnmatchedError
	require.ErrorAs(t, err, &unmatched)

	d, err = New(Config{Manifests: render.Spec{Paths: []string{shop}}, Unmatched: pin.Warn, DryRun: true}, WithClients(offline(t)))
	require.NoError(t, err)
	require.NoError(t, d.Prepare(ctx, []string{"ghcr.io/acme/other"}), "warn goes on")

	d, err = New(Config{Manifests: render.Spec{Paths: []string{t.TempDir()}}, DryRun: true}, WithClients(offline(t)))
	require.NoError(t, err)
	err = d.Prepare(ctx, nil)
	require.ErrorIs(t, err, render.ErrNoManifests)
	var fe *field.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, render.FieldPaths, fe.Field)
}

// inputNames names fields as the action's inputs do.
var inputNames field.Names = func(f string) string {
	in := map[string]string{
		render.FieldPaths: "manifests",
		FieldImageMap:     "image-map",
		FieldRollback:     "rollback",
		FieldPrune:        "prune",
	}[f]
	if in == "" {
		return ""
	}
	return `input "` + in + `"`
}

func TestSplitRefs(t *testing.T) {
	t.Parallel()
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	repos, hex, err := splitRefs([]string{"r1/x@sha256:" + a, "r2/x@sha256:" + a})
	require.NoError(t, err)
	assert.Equal(t, []string{"r1/x", "r2/x"}, repos)
	assert.Equal(t, a, hex)
	_, _, err = splitRefs([]string{"r1/x@sha256:" + a, "r2/x@sha256:" + b})
	require.ErrorContains(t, err, "different digests")
	_, _, err = splitRefs([]string{"r1/x:latest"})
	require.ErrorContains(t, err, "is not <repository>@sha256:<digest>")
}

func TestRollbackSentence(t *testing.T) {
	t.Parallel()
	web := rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web"}
	job := rollout.Target{Kind: rollout.Job, Namespace: "shop", Name: "migrate"}
	ok := &rollout.Verdict{Outcome: rollout.Succeeded}
	bad := &rollout.Verdict{Outcome: rollout.Failed}
	for _, tc := range []struct {
		name string
		rb   *rollback.Result
		want string
	}{
		{"restored", &rollback.Result{Workloads: []rollback.Restore{{Target: web, Action: rollback.Restored, From: 2, To: 1}}, Verdict: ok},
			"rolled back deployment/web to revision 1, and the restore rolled out"},
		{"restore failed", &rollback.Result{Workloads: []rollback.Restore{{Target: web, Action: rollback.Restored, From: 2, To: 1}}, Verdict: bad},
			"rolled back deployment/web to revision 1, but the restore did not roll out"},
		{"first deploy", &rollback.Result{Workloads: []rollback.Restore{{Target: web, Action: rollback.NothingToRollBackTo}, {Target: job, Action: rollback.Skipped}}},
			"first deploy, nothing to roll back to for deployment/web"},
		{"nothing changed", &rollback.Result{Workloads: []rollback.Restore{{Target: web, Action: rollback.Unchanged}}},
			"nothing to roll back: the failed workloads' previous revision is the live one"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, rollbackSentence(tc.rb)) })
	}
}

func TestResultOutputs(t *testing.T) {
	t.Parallel()
	web := rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web"}
	r := &Result{Outcome: Failed, Server: "https://k8s.example",
		Verdict: &rollout.Verdict{Outcome: rollout.Failed, Workloads: []rollout.Workload{{Target: web, State: rollout.Broken,
			Cause: &rollout.Cause{Reason: rollout.CrashLoop, Message: `container "app" exited with code 1`}}}},
		Rollback: &rollback.Result{Workloads: []rollback.Restore{{Target: web, Action: rollback.Restored, From: 2, To: 1}},
			Verdict: &rollout.Verdict{Outcome: rollout.Succeeded}},
	}
	assert.Equal(t, `CrashLoop: container "app" exited with code 1`, r.Cause())
	assert.True(t, r.RolledBack())
	md := r.Markdown()
	assert.Contains(t, md, "#### Deploy to `https://k8s.example`: failed")
	assert.Contains(t, md, "#### Rollback: rolled back deployment/web to revision 1, and the restore rolled out")
	var nilResult *Result
	assert.Empty(t, nilResult.Cause())
	assert.False(t, nilResult.RolledBack())
	assert.Nil(t, nilResult.Resources())
}

// TestLeftovers: an interrupted deploy says what it left, object by object,
// with the command that finishes the job by hand.
func TestLeftovers(t *testing.T) {
	t.Parallel()
	gvk := func(group, kind string) schema.GroupVersionKind {
		return schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind}
	}
	res := &Result{Apply: &apply.Result{Objects: []apply.Applied{
		{GVK: gvk("", "ConfigMap"), Namespace: "shop", Name: "cfg", Action: apply.Configured},
		{GVK: gvk("", "Service"), Namespace: "shop", Name: "web", Action: apply.Unchanged},
		{GVK: gvk("apps", "Deployment"), Namespace: "shop", Name: "web", Action: apply.Configured, Previous: &apply.Previous{Existed: true}},
		{GVK: gvk("apps", "Deployment"), Namespace: "shop", Name: "worker", Action: apply.Configured, Previous: &apply.Previous{Existed: true}},
		{GVK: gvk("apps", "Deployment"), Namespace: "shop", Name: "new", Action: apply.Created, Previous: &apply.Previous{}},
		{GVK: gvk("batch", "Job"), Namespace: "shop", Name: "migrate", Action: apply.Replaced, Previous: &apply.Previous{Existed: true}},
	}}}
	res.Rollback = &rollback.Result{Workloads: []rollback.Restore{
		{Target: rollout.Target{Kind: rollout.Deployment, Namespace: "shop", Name: "web"}, Action: rollback.Restored, To: 3},
	}}
	got := leftovers(res)
	assert.Equal(t, "left: Deployment shop/worker (at the new release: kubectl -n shop rollout undo deployment/worker), "+
		"Deployment shop/new (created by this run: kubectl -n shop delete deployment new), "+
		"Job shop/migrate (a Job cannot be rolled back; to stop it: kubectl -n shop delete job migrate); "+
		"applied and kept as they are: ConfigMap shop/cfg", got)
}

// TestPrepareChecksTheManifests: the manifest policy runs on the release as it
// will be applied, and a finding in fail mode stops it in Prepare.
func TestPrepareChecksTheManifests(t *testing.T) {
	t.Parallel()
	// No server here: DryRun leaves out the server's check of the release,
	// which e2e's TestRefusedReleaseCostsNoBuild runs against an API server.
	ctx := context.Background()

	// The image the run pushes counts as pinned: no latest or digest finding
	// for it, only the missing PodDisruptionBudget.
	var log strings.Builder
	d, err := New(Config{Manifests: render.Spec{Paths: []string{shop}}, DryRun: true}, WithClients(offline(t)), WithLog(&log))
	require.NoError(t, err)
	require.NoError(t, d.Prepare(ctx, []string{"docker.io/acme/shop"}))
	require.NotNil(t, d.policy)
	require.Len(t, d.policy.Findings, 1, d.policy.Text())
	assert.Equal(t, manifestpolicy.PDB, d.policy.Findings[0].Check)
	assert.Contains(t, log.String(), "manifest policy: passed with 1 warning(s) in 4 object(s)\nwarn pdb Deployment/shop (")

	// Unpinned, the shop's latest tag is found too.
	d, err = New(Config{Manifests: render.Spec{Paths: []string{shop}}, DryRun: true}, WithClients(offline(t)))
	require.NoError(t, err)
	require.NoError(t, d.Prepare(ctx, nil))
	assert.Len(t, d.policy.Warnings(), 3, d.policy.Text())

	// A plain password stops the deploy, and says nothing was applied.
	d, err = New(Config{Manifests: render.Spec{Paths: []string{"../../e2e/testdata/first-release"}}, DryRun: true}, WithClients(offline(t)))
	require.NoError(t, err)
	err = d.Prepare(ctx, nil)
	var fe *manifestpolicy.FailedError
	require.ErrorAs(t, err, &fe)
	assert.Contains(t, err.Error(), "the manifests fail 2 policy check(s): secrets: Deployment/shop (")
	assert.True(t, strings.HasSuffix(err.Error(), "; nothing was applied"), err.Error())
	assert.NotContains(t, err.Error(), "Tr0ub4dor")

	// The policy's configuration is checked when the deployer is made.
	_, err = New(Config{Manifests: render.Spec{Paths: []string{shop}},
		Policy: manifestpolicy.Config{Modes: map[manifestpolicy.Check]manifestpolicy.Mode{"probe": manifestpolicy.Fail}}})
	var ce *manifestpolicy.ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, manifestpolicy.FieldModes, ce.Field)
}
