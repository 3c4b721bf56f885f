package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/markdown"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// HookRun is one hook a release ran: applied, and for a Job, watched to its
// end.
type HookRun struct {
	// Phase is the hook's event: "pre-upgrade", "post-install", ...
	Phase string
	// Applied is what the apply did to the hook's object; its Action is
	// Created when the previous hook of the name was deleted first.
	Applied apply.Applied
	// Recreated is set when the previous hook of the name was deleted before
	// this one was created (before-hook-creation).
	Recreated bool
	// Prerequisite marks one of the release's own objects that a pre hook's
	// pods need (a ServiceAccount, a ConfigMap) and that did not exist: it
	// was created before the hooks ran.
	Prerequisite bool
	// Verdict is the watch's verdict on a hook Job (completed, or failed
	// with its cause and last log lines); nil for other kinds, which are
	// done once applied.
	Verdict *rollout.Verdict
	// Deleted names the delete policy that removed the hook when it was done
	// ("hook-succeeded", "hook-failed"); empty when it was kept.
	Deleted string
	// Err is why the hook failed; nil when it succeeded.
	Err error
}

// Failed reports whether the hook failed.
func (h HookRun) Failed() bool { return h.Err != nil }

// HookError is a hook that failed, which fails the release: a pre hook
// before the release's objects change, a post hook after.
type HookError struct {
	// Phase is the hook's event ("pre-upgrade"); Object names it ("Job
	// shop/shop-migrate"); Source is where it came from.
	Phase, Object, Source string
	// Err is the cause: the apply's error, or the watch's
	// *rollout.FailureError for a failed Job.
	Err error
}

func (e *HookError) Error() string {
	return fmt.Sprintf("%s hook %s failed: %v", e.Phase, e.Object, e.Err)
}

func (e *HookError) Unwrap() error { return e.Err }

// phases is a release split for the apply: its pre hooks, its own objects,
// its post hooks.
type phases struct {
	pre, post render.Phase
	main      []render.Object
}

// phases splits objs into the phases helm would run. A dry run applies them
// all at once: the API server checks every object, hooks included, and no
// hook runs. The events (install or upgrade) are chosen by asking the cluster
// whether any of the release's own objects exists, which takes a read or two
// on an upgrade; a release without hooks asks nothing.
func (d *Deployer) phases(ctx context.Context, applier *apply.Applier, objs []render.Object) (phases, error) {
	if d.cfg.DryRun {
		return phases{main: objs}, nil
	}
	all, err := render.Phases(objs, true)
	if err != nil {
		return phases{}, manifestsError(err)
	}
	if len(all) == 1 {
		return phases{main: objs}, nil
	}
	var main []render.Object
	for _, p := range all {
		if !p.IsHook() {
			main = p.Objects
		}
	}
	mainObjs, err := toApply(main)
	if err != nil {
		return phases{}, err
	}
	upgrade, err := applier.Exists(ctx, mainObjs)
	if err != nil {
		return phases{}, err
	}
	if !upgrade {
		if all, err = render.Phases(objs, false); err != nil {
			return phases{}, err
		}
	}
	var out phases
	for _, p := range all {
		switch {
		case !p.IsHook():
			out.main = p.Objects
		case p.Event == release.HookPreInstall || p.Event == release.HookPreUpgrade:
			out.pre = p
		default:
			out.post = p
		}
	}
	return out, nil
}

// hooks runs the hooks of a phase as helm does, one at a time in their
// order: the previous hook of the name deleted when its policy says
// before-hook-creation (Helm's default), the hook applied, a hook Job watched
// to completion. The first hook that fails ends the phase with a
// *HookError: it is deleted if its policy says hook-failed, and the hooks
// that succeeded before it if theirs says hook-succeeded. When all succeed,
// those with hook-succeeded are deleted, last first. Each run is recorded in
// res.Hooks.
func (d *Deployer) hooks(ctx context.Context, res *Result, applier *apply.Applier, p render.Phase) error {
	if len(p.Objects) == 0 {
		return nil
	}
	fmt.Fprintf(d.o.log, "%s: running %d, one at a time\n", p, len(p.Objects))
	objs, err := toApply(p.Objects)
	if err != nil {
		return err
	}
	first := len(res.Hooks)
	// deleteDone deletes, last first, the hooks from..to-1 of the phase whose
	// policy says so.
	deleteDone := func(policy release.HookDeletePolicy, from, to int) {
		for i := to - 1; i >= from; i-- {
			run := &res.Hooks[first+i]
			if !render.HookDeletes(p.Hooks[i], policy) || run.Deleted != "" {
				continue
			}
			// A hook that cannot be deleted is left, said, and fails nothing:
			// the release itself is decided.
			if _, err := applier.Delete(ctx, objs[i]); err != nil {
				fmt.Fprintf(d.o.log, "%s: not deleted (%s): %v\n", run.Applied, policy, err)
				continue
			}
			run.Deleted = string(policy)
		}
	}
	for i, o := range objs {
		run := HookRun{Phase: string(p.Event), Applied: apply.Applied{Source: o.Source}}
		fail := func(err error) error {
			run.Err = err
			res.Hooks = append(res.Hooks, run)
			if ctx.Err() == nil {
				deleteDone(release.HookFailed, i, i+1)
				deleteDone(release.HookSucceeded, 0, i)
			}
			name := o.String()
			if run.Applied.Name != "" {
				name = run.Applied.String()
			}
			return &HookError{Phase: string(p.Event), Object: name, Source: o.Source, Err: err}
		}
		if render.HookDeletes(p.Hooks[i], release.HookBeforeHookCreation) {
			if run.Recreated, err = applier.Delete(ctx, o); err != nil {
				return fail(err)
			}
		}
		ar, err := applier.Apply(ctx, []apply.Object{o})
		if ar != nil {
			for _, a := range ar.Objects {
				// The apply may also have created the namespace.
				if a.GVK.Kind == o.GetKind() && a.Name == o.GetName() {
					run.Applied = a
				}
			}
		}
		if err != nil {
			return fail(err)
		}
		if t, ok := target(run.Applied); ok && t.Kind == rollout.Job {
			if err := d.watchHook(ctx, &run, t); err != nil {
				return fail(err)
			}
		}
		res.Hooks = append(res.Hooks, run)
	}
	deleteDone(release.HookSucceeded, 0, len(objs))
	return nil
}

// watchHook watches a hook Job to its end with the rollout's watch, whose
// verdict names a failed Job's cause (reason, exit code, last log lines).
func (d *Deployer) watchHook(ctx context.Context, run *HookRun, t rollout.Target) error {
	watcher, err := d.watcher()
	if err != nil {
		return err
	}
	v, err := watcher.Watch(ctx, t)
	if err != nil {
		return err
	}
	run.Verdict = v
	return v.Err()
}

// preHooks runs the pre hooks, after creating the objects of the release
// they need that do not exist yet.
func (d *Deployer) preHooks(ctx context.Context, res *Result, applier *apply.Applier, rel phases) error {
	if err := d.ensure(ctx, res, applier, rel.pre, rel.main); err != nil {
		return d.hooksFailed(ctx, res, err)
	}
	if err := d.hooks(ctx, res, applier, rel.pre); err != nil {
		return d.hooksFailed(ctx, res, err)
	}
	return nil
}

// hooksFailed is the error of a release whose pre hooks failed: nothing of
// the release itself was applied, so there is nothing to roll back.
func (d *Deployer) hooksFailed(ctx context.Context, res *Result, err error) error {
	if ctx.Err() != nil {
		res.Outcome = Interrupted
		var left []string
		for _, h := range res.Hooks {
			if h.Applied.GVK.Kind == "Job" && h.Deleted == "" && (h.Verdict == nil || h.Verdict.Failed()) {
				left = append(left, fmt.Sprintf("%s (to stop it: kubectl -n %s delete job %s)", h.Applied, h.Applied.Namespace, h.Applied.Name))
			}
		}
		msg := "nothing else was applied"
		if len(left) > 0 {
			msg += "; left: " + strings.Join(left, ", ")
		}
		return fmt.Errorf("deploy interrupted during the release's hooks: %v; %s: %w", err, msg, ErrInterrupted)
	}
	return fmt.Errorf("%w; the release's other objects were not applied: what runs is as it was", err)
}

// postHooks runs the post hooks of a release whose objects rolled out; a
// failed post hook fails the release, which is then rolled back as a failed
// rollout is.
func (d *Deployer) postHooks(ctx context.Context, res *Result, applier *apply.Applier, p render.Phase) error {
	err := d.hooks(ctx, res, applier, p)
	if err == nil {
		res.Outcome = Succeeded
		return nil
	}
	if ctx.Err() != nil {
		return d.interrupted(ctx, res, err)
	}
	var he *HookError
	if !errors.As(err, &he) || len(res.Apply.Workloads()) == 0 {
		return err
	}
	if !d.cfg.Rollback {
		return fmt.Errorf("%w; %s is false, so the release was left as it is", err, d.o.names.Of(FieldRollback))
	}
	if rerr := d.rollback(ctx, res); rerr != nil {
		return fmt.Errorf("%w; and the rollback failed: %v", err, rerr)
	}
	return fmt.Errorf("%w; %s", err, rollbackSentence(res.Rollback))
}

// hookCause is the cause of the first failed hook Job, "Reason: message".
func (r *Result) hookCause() string {
	for _, h := range r.Hooks {
		if h.Verdict == nil {
			continue
		}
		for _, w := range h.Verdict.Broken() {
			if w.Cause != nil {
				return fmt.Sprintf("%s: %s", w.Cause.Reason, w.Cause.Message)
			}
		}
	}
	return ""
}

// hooksMarkdown is a row per hook run, in the order run, then each failed
// hook Job's cause as the rollout's verdict states it.
func (r *Result) hooksMarkdown() string {
	if len(r.Hooks) == 0 {
		return ""
	}
	var b strings.Builder
	rows := make([][]string, len(r.Hooks))
	for i, h := range r.Hooks {
		action := string(h.Applied.Action)
		if h.Recreated {
			action += " (the previous one deleted first)"
		}
		if h.Prerequisite {
			action += " (a hook needs it)"
		}
		result := "✅ applied"
		switch {
		case h.Verdict != nil && !h.Verdict.Failed() && len(h.Verdict.Workloads) > 0:
			result = "✅ completed in " + h.Verdict.Workloads[0].TimeToReady.Round(100*time.Millisecond).String()
		case h.Verdict != nil && h.Verdict.Failed() && len(h.Verdict.Broken()) > 0 && h.Verdict.Broken()[0].Cause != nil:
			result = "❌ " + string(h.Verdict.Broken()[0].Cause.Reason)
		case h.Err != nil:
			result = "❌ failed"
		}
		if h.Deleted != "" {
			result += " (deleted: " + h.Deleted + ")"
		}
		object := h.Applied.String()
		if h.Applied.Name == "" {
			object = h.Applied.Source
		}
		rows[i] = []string{h.Phase, "`" + object + "`", action, result, h.Applied.Source}
	}
	b.WriteString(markdown.Table([]string{"Hook", "Object", "Applied", "Result", "From"}, rows))
	b.WriteString("\n")
	for _, h := range r.Hooks {
		if h.Verdict != nil && h.Verdict.Failed() {
			b.WriteString(h.Verdict.Markdown())
			b.WriteString("\n")
		} else if h.Err != nil && h.Verdict == nil {
			fmt.Fprintf(&b, "**%s hook `%s` failed:** %v\n\n", h.Phase, h.Applied, h.Err)
		}
	}
	return b.String()
}

// prerequisites are the release's own objects that the pre hooks' pods name
// (their ServiceAccount, the ConfigMaps, Secrets and PersistentVolumeClaims
// of their env and volumes), in the order of main. Helm applies nothing of a
// release before its pre hooks, so on a first release a migration Job that
// runs as the release's ServiceAccount with the release's settings cannot
// start; those objects are created first when they do not exist yet. An
// object that exists is left as it is until the release's own phase: on an
// upgrade the hooks run against what is there, as with helm.
func prerequisites(pre []apply.Object, main []apply.Object, namespace string) []apply.Object {
	ns := func(s string) string {
		if s == "" {
			return namespace
		}
		return s
	}
	needed := map[string]bool{}
	for _, h := range pre {
		spec, ok := podSpec(h.Unstructured.Object)
		if !ok {
			continue
		}
		for _, ref := range podReferences(spec) {
			needed[ns(h.GetNamespace())+"/"+ref] = true
		}
	}
	var out []apply.Object
	for _, o := range main {
		if o.GetAPIVersion() != "v1" {
			continue
		}
		if needed[ns(o.GetNamespace())+"/"+o.GetKind()+"/"+o.GetName()] {
			out = append(out, o)
		}
	}
	return out
}

// podSpec is the pod spec of a Pod, or of a workload's (Job, CronJob,
// Deployment, ...) pod template.
func podSpec(obj map[string]any) (map[string]any, bool) {
	for _, path := range [][]string{
		{"spec", "template", "spec"},
		{"spec", "jobTemplate", "spec", "template", "spec"},
	} {
		if s, ok, _ := unstructured.NestedMap(obj, path...); ok {
			return s, true
		}
	}
	if k, _, _ := unstructured.NestedString(obj, "kind"); k == "Pod" {
		s, ok, _ := unstructured.NestedMap(obj, "spec")
		return s, ok
	}
	return nil, false
}

// podReferences are the objects a pod spec names: "ServiceAccount/name",
// "ConfigMap/name", "Secret/name", "PersistentVolumeClaim/name".
func podReferences(spec map[string]any) []string {
	var refs []string
	add := func(kind string, obj any, path ...string) {
		m, ok := obj.(map[string]any)
		if !ok {
			return
		}
		if name, _, _ := unstructured.NestedString(m, path...); name != "" {
			refs = append(refs, kind+"/"+name)
		}
	}
	add("ServiceAccount", spec, "serviceAccountName")
	for _, field := range []string{"initContainers", "containers"} {
		cs, _, _ := unstructured.NestedSlice(spec, field)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			froms, _, _ := unstructured.NestedSlice(cm, "envFrom")
			for _, f := range froms {
				add("ConfigMap", f, "configMapRef", "name")
				add("Secret", f, "secretRef", "name")
			}
			envs, _, _ := unstructured.NestedSlice(cm, "env")
			for _, e := range envs {
				add("ConfigMap", e, "valueFrom", "configMapKeyRef", "name")
				add("Secret", e, "valueFrom", "secretKeyRef", "name")
			}
		}
	}
	vols, _, _ := unstructured.NestedSlice(spec, "volumes")
	for _, v := range vols {
		add("ConfigMap", v, "configMap", "name")
		add("Secret", v, "secret", "secretName")
		add("PersistentVolumeClaim", v, "persistentVolumeClaim", "claimName")
		vm, _ := v.(map[string]any)
		sources, _, _ := unstructured.NestedSlice(vm, "projected", "sources")
		for _, s := range sources {
			add("ConfigMap", s, "configMap", "name")
			add("Secret", s, "secret", "name")
		}
	}
	return refs
}

// ensure creates the prerequisites of the pre hooks that do not exist yet,
// each recorded as a row of the hooks' phase.
func (d *Deployer) ensure(ctx context.Context, res *Result, applier *apply.Applier, p render.Phase, main []render.Object) error {
	if len(p.Objects) == 0 {
		return nil
	}
	hooks, err := toApply(p.Objects)
	if err != nil {
		return err
	}
	objs, err := toApply(main)
	if err != nil {
		return err
	}
	for _, o := range prerequisites(hooks, objs, d.namespace) {
		exists, err := applier.Exists(ctx, []apply.Object{o})
		if err != nil {
			return err
		}
		if exists {
			continue
		}
		ar, err := applier.Apply(ctx, []apply.Object{o})
		run := HookRun{Phase: string(p.Event), Prerequisite: true, Applied: apply.Applied{Source: o.Source}, Err: err}
		if ar != nil {
			for _, a := range ar.Objects {
				if a.GVK.Kind == o.GetKind() && a.Name == o.GetName() {
					run.Applied = a
				}
			}
		}
		res.Hooks = append(res.Hooks, run)
		if err != nil {
			return &HookError{Phase: string(p.Event), Object: o.String(), Source: o.Source, Err: err}
		}
	}
	return nil
}
