package render

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/release"
)

// hookDoc is an object of kind with the given annotations ("k: v" lines).
func hookDoc(kind, name string, annotations ...string) string {
	api := "v1"
	if kind == "Job" {
		api = "batch/v1"
	}
	doc := fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n", api, kind, name)
	if len(annotations) > 0 {
		doc += "  annotations:\n"
		for _, a := range annotations {
			doc += "    " + a + "\n"
		}
	}
	return doc
}

// phaseNames is each phase as "<phase>: Kind/name, ..." for readable diffs.
func phaseNames(phases []Phase) []string {
	var out []string
	for _, p := range phases {
		var ids []string
		for _, o := range p.Objects {
			ids = append(ids, o.ID())
		}
		out = append(out, p.String()+": "+strings.Join(ids, ", "))
	}
	return out
}

func TestPhases(t *testing.T) {
	t.Parallel()
	stream := strings.Join([]string{
		hookDoc("ConfigMap", "settings"),
		hookDoc("Job", "migrate", `helm.sh/hook: "pre-install,pre-upgrade"`, `helm.sh/hook-weight: "-1"`,
			`helm.sh/hook-delete-policy: "before-hook-creation,hook-succeeded"`),
		hookDoc("Job", "seed", `helm.sh/hook: pre-install`, `helm.sh/hook-weight: "5"`),
		hookDoc("Secret", "migrate-creds", `helm.sh/hook: "pre-upgrade, pre-install"`, `helm.sh/hook-weight: "-5"`),
		hookDoc("Job", "notify", `helm.sh/hook: post-upgrade`),
		hookDoc("Service", "web"),
		// Equal weight: by name; equal name too: by Helm's kind order
		// (ConfigMap before Job), whatever the order given.
		hookDoc("Job", "same", `helm.sh/hook: pre-upgrade`, `helm.sh/hook-weight: "7"`),
		hookDoc("ConfigMap", "same", `helm.sh/hook: pre-upgrade`, `helm.sh/hook-weight: "7"`),
		hookDoc("ConfigMap", "b-same-weight", `helm.sh/hook: pre-upgrade`, `helm.sh/hook-weight: "7"`),
	}, "---\n")
	objs, err := Parse("release.yaml", []byte(stream))
	require.NoError(t, err)

	upgrade, err := Phases(objs, true)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"pre-upgrade hooks: Secret/migrate-creds, Job/migrate, ConfigMap/b-same-weight, ConfigMap/same, Job/same",
		"manifests: ConfigMap/settings, Service/web",
		"post-upgrade hooks: Job/notify",
	}, phaseNames(upgrade))
	require.Len(t, upgrade[0].Hooks, len(upgrade[0].Objects), "a hook per object")
	assert.Equal(t, -1, upgrade[0].Hooks[1].Weight)
	assert.Equal(t, "release.yaml:6", upgrade[0].Hooks[1].Path, "the hook names its source")
	assert.Nil(t, upgrade[1].Hooks)
	assert.False(t, upgrade[1].IsHook())

	install, err := Phases(objs, false)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"pre-install hooks: Secret/migrate-creds, Job/migrate, Job/seed",
		"manifests: ConfigMap/settings, Service/web",
	}, phaseNames(install), "install hooks only; no post-install hook, so no phase")
}

func TestHookDeletePolicies(t *testing.T) {
	t.Parallel()
	objs, err := Parse("hooks.yaml", []byte(strings.Join([]string{
		hookDoc("Job", "default", `helm.sh/hook: pre-upgrade`),
		hookDoc("Job", "both", `helm.sh/hook: pre-upgrade`, `helm.sh/hook-delete-policy: "hook-succeeded, hook-failed"`),
		hookDoc("Job", "recreate", `helm.sh/hook: pre-upgrade`, `helm.sh/hook-delete-policy: before-hook-creation`),
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n  annotations:\n    helm.sh/hook: pre-upgrade\n    helm.sh/hook-delete-policy: hook-succeeded\n",
	}, "---\n")))
	require.NoError(t, err)
	phases, err := Phases(objs, true)
	require.NoError(t, err)
	policies := map[string][]release.HookDeletePolicy{}
	for _, h := range phases[0].Hooks {
		policies[h.Kind+"/"+h.Name] = h.DeletePolicies
	}
	assert.Equal(t, map[string][]release.HookDeletePolicy{
		"Job/default":  {release.HookBeforeHookCreation}, // Helm's default
		"Job/both":     {release.HookSucceeded, release.HookFailed},
		"Job/recreate": {release.HookBeforeHookCreation},
		"CustomResourceDefinition/widgets.example.com": {release.HookSucceeded},
	}, policies)

	byName := map[string]*release.Hook{}
	for _, h := range phases[0].Hooks {
		byName[h.Name] = h
	}
	assert.True(t, HookDeletes(byName["default"], release.HookBeforeHookCreation))
	assert.False(t, HookDeletes(byName["default"], release.HookSucceeded))
	assert.True(t, HookDeletes(byName["both"], release.HookFailed))
	assert.False(t, HookDeletes(byName["both"], release.HookBeforeHookCreation))
	assert.False(t, HookDeletes(byName["widgets.example.com"], release.HookSucceeded), "Helm never deletes a CRD hook")
	assert.False(t, HookDeletes(nil, release.HookSucceeded))
}

// Test hooks (and delete and rollback hooks) are never part of a release,
// whether a chart or plain YAML carries them.
func TestNonReleaseHooksLeftOut(t *testing.T) {
	t.Parallel()
	chart, err := Render(context.Background(), Spec{Paths: []string{"testdata/chart"}, Values: []string{"migrate=true"}})
	require.NoError(t, err)
	dir := tree(t, map[string]string{"k8s/all.yaml": strings.Join([]string{
		deployment,
		hookDoc("Pod", "smoke", `helm.sh/hook: test`),
		hookDoc("Job", "cleanup", `helm.sh/hook: "pre-delete,post-rollback"`),
		hookDoc("Job", "migrate", `helm.sh/hook: "pre-upgrade,test"`),
	}, "---\n")})
	plain, err := Render(context.Background(), Spec{Paths: []string{dir + "/k8s"}})
	require.NoError(t, err)

	for name, objs := range map[string][]Object{"chart": chart, "plain": plain} {
		for _, o := range objs {
			assert.NotContains(t, []string{"Pod/api-smoke", "Pod/smoke", "Job/cleanup"}, o.ID(), name)
		}
		for _, upgrade := range []bool{false, true} {
			phases, err := Phases(objs, upgrade)
			require.NoError(t, err)
			for _, p := range phases {
				for _, h := range p.Hooks {
					assert.Contains(t, h.Events, p.Event, "%s: %s: a hook runs in its events' phases only", name, p)
				}
			}
		}
	}
	phases, err := Phases(plain, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"pre-upgrade hooks: Job/migrate", "manifests: Deployment/web"}, phaseNames(phases))

	phases, err = Phases(chart, true)
	require.NoError(t, err)
	assert.Equal(t, "pre-upgrade hooks: Job/api-migrate", phaseNames(phases)[0], "the chart's migration runs before its templates")
}

func TestUnknownHookEvent(t *testing.T) {
	t.Parallel()
	objs, err := Parse("k8s/job.yaml", []byte(hookDoc("Job", "migrate", `helm.sh/hook: pre-deploy`)))
	require.NoError(t, err)
	_, err = Phases(objs, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `k8s/job.yaml:1: Job/migrate: annotation helm.sh/hook: "pre-deploy" names an event Helm does not know; use pre-install, pre-upgrade`)
}
