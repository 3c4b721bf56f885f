package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/pkg/rollback"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// Deployer deploys one release: Prepare once, before anything is built, then
// Deploy with what was pushed.
type Deployer struct {
	cfg       Config
	o         *options
	clients   *kube.Clients
	namespace string
	objects   []render.Object
	policy    *manifestpolicy.Result
}

// New checks cfg and the options; it contacts nothing.
func New(cfg Config, opts ...Option) (*Deployer, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if _, err := manifestpolicy.New(cfg.Policy); err != nil {
		return nil, err
	}
	if cfg.Unmatched == "" {
		cfg.Unmatched = pin.Fail
	}
	return &Deployer{cfg: cfg, o: o, clients: o.clients}, nil
}

// Prepare connects to the cluster, renders the manifests and checks them
// against the manifest policy, so that an unreachable cluster, a broken
// manifest or a release the policy refuses fails the run before an image is
// built or pushed. repos are the repositories the run will push to: each must
// be the image of some container in the manifests, or what is pushed would
// not be what runs.
func (d *Deployer) Prepare(ctx context.Context, repos []string) error {
	if d.clients == nil {
		kopts := append([]kube.Option{kube.WithFieldNames(d.o.names)}, d.o.kube...)
		c, err := kube.Connect(ctx, d.cfg.Access, kopts...)
		if err != nil {
			return err
		}
		d.clients = c
	}
	d.namespace = d.cfg.Namespace
	if d.namespace == "" {
		d.namespace = d.clients.Namespace
	}
	spec := d.cfg.Manifests
	if spec.Namespace == "" {
		spec.Namespace = d.namespace
	}
	// The caller's own render options come last and win.
	ropts := append([]render.Option{render.WithFieldNames(d.o.names)}, d.o.render...)
	if v := d.clients.Version; v != nil && v.GitVersion != "" {
		// Charts see the cluster they are deployed to, as helm install does.
		ropts = append([]render.Option{render.WithKubeVersion(v.GitVersion)}, ropts...)
	}
	objs, err := render.Render(ctx, spec, ropts...)
	if err != nil {
		return manifestsError(err)
	}
	d.objects = objs
	fmt.Fprintf(d.o.log, "rendered %d object(s) from %s\n", len(objs), strings.Join(spec.Paths, ", "))
	if err := d.serverCheck(ctx, repos); err != nil {
		return err
	}

	// A trial pin with the digest still unknown: a repository that matches no
	// container fails now rather than after the push.
	if len(repos) > 0 || len(d.cfg.ImageMap) > 0 {
		if _, err := d.pin(repos, strings.Repeat("0", 64)); err != nil {
			return err
		}
	}
	return d.checkManifests(ctx, repos)
}

// placeholderDigest stands for the digest of the image still to be built.
var placeholderDigest = strings.Repeat("0", 64)

// serverCheck has the API server check the whole release (schema, admission,
// permissions, conflicts) with a server-side dry run that stores nothing,
// with the pushed repositories pinned to a placeholder digest: a release the
// server would refuse, whole or halfway, costs neither a build nor a push.
// With Config.DryRun the deploy itself is that check, and this is skipped.
func (d *Deployer) serverCheck(ctx context.Context, repos []string) error {
	if d.cfg.DryRun {
		return nil
	}
	objs := d.objects
	if len(repos) > 0 || len(d.cfg.ImageMap) > 0 {
		p, err := d.pin(repos, placeholderDigest)
		if err != nil {
			return err
		}
		objs = p.Objects
	}
	applyObjs, err := toApply(objs)
	if err != nil {
		return err
	}
	check := d.cfg
	check.DryRun = true
	checker, err := apply.New(d.clients.Dynamic, d.clients.Mapper, check.applyOptions(d.namespace, io.Discard, d.o.names)...)
	if err != nil {
		return err
	}
	if _, err := checker.Apply(ctx, applyObjs); err != nil {
		// Said as the failure of the real apply it stands for, which then
		// applies nothing.
		var e *apply.Error
		if errors.As(err, &e) {
			e.DryRun, e.Applied = false, nil
		}
		return err
	}
	fmt.Fprintf(d.o.log, "the API server accepts all %d object(s) (server-side dry run, before the build)\n", len(applyObjs))
	return nil
}

// manifestsError is an error of render's: one about a field of the Spec
// passes on as it is; any other (a syntax error names its file and line) is
// about the manifests as a whole.
func manifestsError(err error) error {
	var fe *field.Error
	if errors.As(err, &fe) {
		return err
	}
	return &field.Error{Field: render.FieldPaths, Err: err}
}

func toApply(objs []render.Object) ([]apply.Object, error) {
	out := make([]apply.Object, len(objs))
	for i, o := range objs {
		u, err := o.Unstructured()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		out[i] = apply.Object{Unstructured: u, Source: o.Source}
	}
	return out, nil
}

// pin rewrites the rendered objects' images: explicit mappings, plus the
// pushed repositories at digest (hex).
func (d *Deployer) pin(repos []string, hex string) (*pin.Result, error) {
	mappings := append([]pin.Mapping(nil), d.cfg.ImageMap...)
	if len(repos) > 0 {
		refs := make([]string, len(repos))
		for i, r := range repos {
			refs[i] = r + "@sha256:" + hex
		}
		m, err := pin.Pushed(refs...)
		if err != nil {
			return nil, err
		}
		mappings = append(mappings, m)
	}
	res, err := pin.Pin(d.objects, mappings, pin.WithUnmatched(d.cfg.Unmatched), pin.WithFieldNames(d.o.names))
	if err != nil {
		return nil, fmt.Errorf("pinning the images of %s: %w", d.o.names.Of(render.FieldPaths), err)
	}
	return res, nil
}

// Deploy pins the images to the pushed refs ("<repository>@sha256:...", all of
// one digest; none when nothing was pushed, then only "image-map" pins),
// applies the objects, watches the workloads to a verdict and, when the
// rollout fails and Config.Rollback is set, restores their previous revisions.
// The Result holds what was done however far it got; the error says why the
// deploy failed.
func (d *Deployer) Deploy(ctx context.Context, refs []string) (*Result, error) {
	if d.objects == nil {
		if err := d.Prepare(ctx, nil); err != nil {
			return nil, err
		}
	}
	res := &Result{Outcome: Failed, Server: d.clients.Server, DryRun: d.cfg.DryRun, Policy: d.policy}
	repos, hex, err := splitRefs(refs)
	if err != nil {
		return res, err
	}
	objs := d.objects
	if len(repos) > 0 || len(d.cfg.ImageMap) > 0 {
		p, err := d.pin(repos, hex)
		if err != nil {
			return res, err
		}
		res.Pin, objs = p, p.Objects
		for _, c := range p.Changes {
			fmt.Fprintf(d.o.log, "pinned %s container %s: %s\n", c.Object, c.Name, c.New)
		}
		for _, w := range p.Warnings {
			fmt.Fprintf(d.o.log, "warning: %s\n", w)
		}
	} else {
		fmt.Fprintf(d.o.log, "no image was pushed and %s is empty: images are deployed as the manifests name them\n", d.o.names.Of(FieldImageMap))
	}

	applier, err := apply.New(d.clients.Dynamic, d.clients.Mapper, d.cfg.applyOptions(d.namespace, d.o.log, d.o.names)...)
	if err != nil {
		return res, err
	}
	// Pre hooks (a migration) run to completion before anything else of the
	// release changes; post hooks after it rolled out.
	rel, err := d.phases(ctx, applier, objs)
	if err != nil {
		return res, err
	}
	if err := d.preHooks(ctx, res, applier, rel); err != nil {
		return res, err
	}
	applyObjs, err := toApply(rel.main)
	if err != nil {
		return res, err
	}
	res.Apply, err = applier.Apply(ctx, applyObjs)
	if err != nil {
		if ctx.Err() != nil && !d.cfg.DryRun {
			return res, d.interrupted(ctx, res, err)
		}
		// What was applied before the failure is a release only half there:
		// put it back.
		if res.Apply != nil && res.Apply.Changed() && !d.cfg.DryRun {
			if !d.cfg.Rollback {
				return res, fmt.Errorf("%w; %s is false, so the objects applied before it were left as they are", err, d.o.names.Of(FieldRollback))
			}
			if rerr := d.rollback(ctx, res); rerr != nil {
				return res, fmt.Errorf("%w; and rolling back the objects applied before it failed: %v", err, rerr)
			}
			return res, fmt.Errorf("%w; %s", err, rollbackSentence(res.Rollback))
		}
		return res, err
	}
	if d.cfg.DryRun {
		res.Outcome = DryRun
		return res, d.prune(ctx, applier, res)
	}
	workloads := res.Apply.Workloads()
	if len(workloads) == 0 {
		fmt.Fprintln(d.o.log, "no workloads to watch: the release has no Deployment, StatefulSet, DaemonSet or Job")
		return res, d.finish(ctx, res, applier, rel.post)
	}
	watcher, err := d.watcher()
	if err != nil {
		return res, err
	}
	res.Verdict, err = watcher.Watch(ctx, targets(workloads)...)
	if err != nil {
		if ctx.Err() != nil {
			return res, d.interrupted(ctx, res, err)
		}
		return res, err
	}
	if !res.Verdict.Failed() {
		return res, d.finish(ctx, res, applier, rel.post)
	}
	failure := res.Verdict.Err()
	if !d.cfg.Rollback {
		return res, fmt.Errorf("%w; %s is false, so the release was left as it is", failure, d.o.names.Of(FieldRollback))
	}
	if err := d.rollback(ctx, res); err != nil {
		return res, fmt.Errorf("%w; and the rollback failed: %v", failure, err)
	}
	return res, fmt.Errorf("%w; %s", failure, rollbackSentence(res.Rollback))
}

// finish ends a release that rolled out: its post hooks run, then what the
// release no longer holds is pruned (when asked).
func (d *Deployer) finish(ctx context.Context, res *Result, applier *apply.Applier, post render.Phase) error {
	if err := d.postHooks(ctx, res, applier, post); err != nil {
		return err
	}
	return d.prune(ctx, applier, res)
}

// interrupted ends a deploy whose context was cancelled (the job was
// cancelled: SIGINT, then SIGTERM, then a kill seconds later) after it
// applied: the watch has stopped, and what this run applied is rolled back on
// a fresh context bounded by the cleanup timeout, since the cancelled one
// would fail every request at once. The error says exactly what was left and
// how to finish by hand.
func (d *Deployer) interrupted(ctx context.Context, res *Result, cause error) error {
	res.Outcome = Interrupted
	if res.Apply == nil || len(res.Apply.Objects) == 0 {
		return fmt.Errorf("deploy interrupted before anything was applied: %w", cause)
	}
	if !d.cfg.Rollback {
		return fmt.Errorf("deploy interrupted: %w; %s is false, so what was applied is left as it is; %s", cause, d.o.names.Of(FieldRollback), leftovers(res))
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.o.cleanupTimeout)
	defer cancel()
	fmt.Fprintf(d.o.log, "interrupted: rolling back what this run applied (within %s)\n", d.o.cleanupTimeout)
	var rerr error
	if res.Apply.Changed() {
		rerr = d.rollback(cctx, res)
	}
	msg := fmt.Sprintf("deploy interrupted: %v; %s", cause, rollbackSentence(res.Rollback))
	if rerr != nil {
		msg += fmt.Sprintf(" (the rollback was cut short: %v)", rerr)
	}
	return fmt.Errorf("%s; %s: %w", msg, leftovers(res), ErrInterrupted)
}

// ErrInterrupted: the deploy was cancelled after it had applied something.
var ErrInterrupted = errors.New("deploy interrupted")

// leftovers says what a run that stopped early left in the cluster, and the
// commands that finish the job by hand.
func leftovers(res *Result) string {
	restored := map[string]bool{}
	if res.Rollback != nil {
		for _, w := range res.Rollback.Workloads {
			if w.Action == rollback.Restored || w.Action == rollback.Unchanged {
				restored[w.Namespace+"/"+w.Name+"/"+string(w.Kind)] = true
			}
		}
		for _, o := range res.Rollback.Objects {
			if o.Workload == nil && (o.Action == rollback.Restored || o.Action == rollback.Deleted) {
				restored[o.String()] = true
			}
		}
	}
	var left, others []string
	for _, a := range res.Apply.Objects {
		if a.Action == apply.Unchanged || a.Action == apply.Skipped {
			continue
		}
		ns := a.Namespace
		resource := strings.ToLower(a.GVK.Kind)
		switch {
		case !a.IsWorkload() && restored[a.String()]:
		case !a.IsWorkload():
			others = append(others, a.String())
		case restored[a.Namespace+"/"+a.Name+"/"+a.GVK.Kind]:
		case a.GVK.Kind == "Job":
			left = append(left, fmt.Sprintf("%s (a Job cannot be rolled back; to stop it: kubectl -n %s delete job %s)", a, ns, a.Name))
		case a.Previous == nil || !a.Previous.Existed:
			left = append(left, fmt.Sprintf("%s (created by this run: kubectl -n %s delete %s %s)", a, ns, resource, a.Name))
		default:
			left = append(left, fmt.Sprintf("%s (at the new release: kubectl -n %s rollout undo %s/%s)", a, ns, resource, a.Name))
		}
	}
	var parts []string
	if len(left) > 0 {
		parts = append(parts, "left: "+strings.Join(left, ", "))
	} else {
		parts = append(parts, "every workload this run changed is back at its previous revision")
	}
	if len(others) > 0 {
		parts = append(parts, "applied and kept as they are: "+strings.Join(others, ", "))
	}
	return strings.Join(parts, "; ")
}

func (d *Deployer) watcher() (*rollout.Watcher, error) {
	return rollout.New(d.clients.Typed, d.cfg.watchOptions(d.o.log, d.o.names)...)
}

// rollback puts back the whole release of res (apply.Result.Objects) as the
// apply recorded it before it wrote: objects it created are deleted, the ones
// it changed restored, the workloads last; the result goes in res.
func (d *Deployer) rollback(ctx context.Context, res *Result) error {
	watcher, err := d.watcher()
	if err != nil {
		return err
	}
	fm := d.cfg.FieldManager
	if fm == "" {
		fm = apply.DefaultFieldManager
	}
	r, err := rollback.New(d.clients.Typed, watcher, rollback.WithFieldManager(fm), rollback.WithLog(d.o.log), rollback.WithFieldNames(d.o.names),
		rollback.WithForceConflicts(d.cfg.ForceConflicts), rollback.WithDynamicClient(d.clients.Dynamic))
	if err != nil {
		return err
	}
	rb, err := r.Release(ctx, res.Apply.Objects)
	res.Rollback = rb
	if err == nil && rb != nil && len(rb.Failed()) > 0 {
		err = fmt.Errorf("%s", strings.Join(rb.Failed(), "; "))
	}
	return err
}

// target is the watch's name for an applied workload.
func target(w apply.Applied) (rollout.Target, bool) {
	k, err := rollout.ParseKind(w.GVK.Kind)
	return rollout.Target{Kind: k, Namespace: w.Namespace, Name: w.Name, Generation: w.Generation}, err == nil
}

func targets(ws []apply.Applied) []rollout.Target {
	ts := make([]rollout.Target, 0, len(ws))
	for _, w := range ws {
		if t, ok := target(w); ok {
			ts = append(ts, t)
		}
	}
	return ts
}
