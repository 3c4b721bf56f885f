package deploy

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// Fields of Config, as a *field.Error or a field.Names names them. The
// manifests' are render's (render.FieldPaths, ...), the cluster's kube's, the
// apply's apply's.
const (
	FieldImageMap  = "deploy.Config.ImageMap"
	FieldUnmatched = "deploy.Config.Unmatched"
	FieldTimeout   = "deploy.Config.Timeout"
	FieldGrace     = "deploy.Config.Grace"
	FieldRollback  = "deploy.Config.Rollback"
	FieldPrune     = "deploy.Config.Prune"
)

// Config is what a deploy needs. New checks it without contacting anything.
type Config struct {
	// Access says how to reach the cluster.
	Access kube.Access
	// Manifests are what to render (files, directories, globs, a
	// kustomization, a Helm chart).
	Manifests render.Spec
	// ImageMap are explicit mappings, used besides the pushed image's.
	ImageMap []pin.Mapping
	// Unmatched is what a mapping that matches no container does; default
	// pin.Fail.
	Unmatched pin.Policy
	// Namespace is where namespaced objects that name none go; default: the
	// kubeconfig context's.
	Namespace       string
	CreateNamespace bool
	FieldManager    string
	ForceConflicts  bool
	// DryRun has the API server check everything and store nothing; no watch.
	DryRun bool
	// Timeout and Grace bound the watch (rollout.WithTimeout, WithGrace);
	// nil takes rollout's defaults (a zero Grace fails at the first unready
	// pod).
	Timeout, Grace *time.Duration
	// Rollback puts the whole release back as it was (created objects
	// deleted, changed ones restored, workloads at their previous revision)
	// when the rollout or the apply fails.
	Rollback bool
	// Prune deletes, after a release that rolled out, the objects earlier
	// releases applied that the manifests no longer have. What a release owns
	// is recorded as a Kubernetes ApplySet whose parent is the Secret
	// ApplySet (default apply.DefaultApplySet) in Namespace; only its members
	// are ever pruned.
	Prune    bool
	ApplySet string
	// Policy is what the manifests are checked against before anything is
	// applied; its Namespace defaults to the deploy's.
	Policy manifestpolicy.Config
}

// Option configures a Deployer.
type Option func(*options) error

type options struct {
	log            io.Writer
	cleanupTimeout time.Duration
	kube           []kube.Option
	render         []render.Option
	clients        *kube.Clients
	names          field.Names
}

// DefaultCleanupTimeout bounds the rollback of an interrupted deploy. A
// cancelled GitHub job gets SIGINT, then SIGTERM, then a kill about 10 s
// later: the rollback must be done well within that.
const DefaultCleanupTimeout = 5 * time.Second

func defaults() *options { return &options{log: io.Discard, cleanupTimeout: DefaultCleanupTimeout} }

// WithCleanupTimeout bounds the rollback of a deploy whose context was
// cancelled (default DefaultCleanupTimeout).
func WithCleanupTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("deploy: WithCleanupTimeout(%s); use a positive duration", d)
		}
		o.cleanupTimeout = d
		return nil
	}
}

// WithLog receives one line per step (render, pin, apply, watch, rollback).
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("deploy: WithLog(nil)")
		}
		o.log = w
		return nil
	}
}

// WithKubeOptions are passed to kube.Connect (user agent, getenv, warnings).
func WithKubeOptions(opts ...kube.Option) Option {
	return func(o *options) error { o.kube = append(o.kube, opts...); return nil }
}

// WithRenderOptions are passed to render.Render (root directory, stdin).
func WithRenderOptions(opts ...render.Option) Option {
	return func(o *options) error { o.render = append(o.render, opts...); return nil }
}

// WithFieldNames names the fields of Config in the messages that refer to
// one ("deploy.Config.Rollback is false, so ..."), as the caller's users set
// them, here and in the cluster's and the apply's messages; without it they
// are named by their Field* constants.
func WithFieldNames(names field.Names) Option {
	return func(o *options) error { o.names = names; return nil }
}

// WithClients uses clients already connected instead of Config.Access.
func WithClients(c *kube.Clients) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("deploy: WithClients(nil)")
		}
		o.clients = c
		return nil
	}
}

func (c Config) check() error {
	switch c.Unmatched {
	case "", pin.Fail, pin.Warn:
	default:
		return field.Errorf(FieldUnmatched, "%q is not a policy; use %q or %q", c.Unmatched, pin.Fail, pin.Warn)
	}
	if len(c.Manifests.Paths) == 0 {
		return field.Errorf(render.FieldPaths, "no manifests given; give the files, directories or globs of the manifests (e.g. k8s/), a kustomization directory or a Helm chart")
	}
	if c.Timeout != nil && *c.Timeout <= 0 {
		return field.Errorf(FieldTimeout, "%s is not a time a rollout can take; give a positive duration such as 5m", *c.Timeout)
	}
	if c.Grace != nil && *c.Grace < 0 {
		return field.Errorf(FieldGrace, "%s is negative; give a duration such as 30s, or 0s to fail at the first unready pod", *c.Grace)
	}
	// The apply's own settings (field manager, namespace) are checked with
	// the rest of the configuration, not after the image is pushed.
	return apply.CheckOptions(c.applyOptions("default", io.Discard, nil)...)
}

func (c Config) watchOptions(log io.Writer, names field.Names) []rollout.Option {
	opts := []rollout.Option{rollout.WithLog(log), rollout.WithFieldNames(names)}
	if c.Timeout != nil {
		opts = append(opts, rollout.WithTimeout(*c.Timeout))
	}
	if c.Grace != nil {
		opts = append(opts, rollout.WithGrace(*c.Grace))
	}
	return opts
}

func (c Config) applyOptions(namespace string, log io.Writer, names field.Names) []apply.Option {
	opts := []apply.Option{
		apply.WithFieldNames(names),
		apply.WithNamespace(namespace),
		apply.WithCreateNamespace(c.CreateNamespace),
		apply.WithForceConflicts(c.ForceConflicts),
		apply.WithDryRun(c.DryRun),
		apply.WithProgress(log),
	}
	if c.FieldManager != "" {
		opts = append(opts, apply.WithFieldManager(c.FieldManager))
	}
	if c.Prune {
		opts = append(opts, apply.WithApplySet(c.applySetName()))
	}
	return opts
}
