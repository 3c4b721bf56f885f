package apply

import (
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Fields of the options, as a *field.Error or a field.Names names them.
const (
	FieldNamespace       = "apply.WithNamespace"
	FieldCreateNamespace = "apply.WithCreateNamespace"
	FieldFieldManager    = "apply.WithFieldManager"
	FieldForceConflicts  = "apply.WithForceConflicts"
	FieldDryRun          = "apply.WithDryRun"
	FieldApplySet        = "apply.WithApplySet"
)

// DefaultFieldManager is the name under which fields are applied, and so the
// owner other tools see in managedFields.
const DefaultFieldManager = "deploy-action"

// Option configures an Applier. Options are checked when the Applier is made
// (New), so a bad or conflicting option fails before anything is sent.
type Option func(*options) error

type options struct {
	fieldManager    string
	force           bool
	dryRun          bool
	namespace       string
	createNamespace bool
	replaceJobs     bool
	applySet        string // the parent Secret's name; "": no ApplySet
	waitTimeout     time.Duration
	progress        io.Writer
	now             func() time.Time
	names           field.Names
}

// Defaults live here and nowhere else.
func defaults() *options {
	return &options{
		fieldManager: DefaultFieldManager,
		namespace:    "default",
		// A migration Job runs once per release; its pod template cannot change,
		// so a finished one is replaced rather than failing every deploy after
		// the first.
		replaceJobs: true,
		// A CustomResourceDefinition is established within a second; a minute
		// allows for a busy API server.
		waitTimeout: time.Minute,
		progress:    io.Discard,
		now:         time.Now,
	}
}

// CheckOptions checks opts as New does, without clients: a caller checks its
// inputs with the others, long before it has a cluster to apply to.
func CheckOptions(opts ...Option) error {
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return err
		}
	}
	return nil
}

// WithFieldManager sets the field manager that owns the applied fields
// (default "deploy-action"). Use one name per tool and keep it: a new name
// conflicts with the fields the old one owns.
func WithFieldManager(name string) Option {
	return func(o *options) error {
		if name == "" || len(name) > 128 {
			return field.Errorf(FieldFieldManager, "%q is not a field manager name; use 1 to 128 characters, such as %q", name, DefaultFieldManager)
		}
		o.fieldManager = name
		return nil
	}
}

// WithForceConflicts takes over the fields another field manager owns instead of
// failing with a conflict.
func WithForceConflicts(force bool) Option {
	return func(o *options) error {
		o.force = force
		return nil
	}
}

// WithDryRun asks the API server to validate every object (schemas, admission,
// conflicts, permissions) without storing anything.
func WithDryRun(dryRun bool) Option {
	return func(o *options) error {
		o.dryRun = dryRun
		return nil
	}
}

// WithNamespace sets the namespace of namespaced objects that name none
// (default "default"; kube.Clients.Namespace is the kubeconfig context's).
func WithNamespace(ns string) Option {
	return func(o *options) error {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return field.Errorf(FieldNamespace, "%q is not a namespace name (%s); use lower-case letters, digits and '-'", ns, errs[0])
		}
		o.namespace = ns
		return nil
	}
}

// WithCreateNamespace creates the namespace of WithNamespace when it does not
// exist. An existing namespace is left as it is.
func WithCreateNamespace(create bool) Option {
	return func(o *options) error {
		o.createNamespace = create
		return nil
	}
}

// WithReplaceFinishedJobs sets whether a Job that has finished (complete or
// failed) and whose pod template changes is deleted and created again (the
// default), since a Job's template cannot be changed in place. A Job that still
// runs is never replaced.
func WithReplaceFinishedJobs(replace bool) Option {
	return func(o *options) error {
		o.replaceJobs = replace
		return nil
	}
}

// WithWaitTimeout bounds each wait: for a CustomResourceDefinition to be
// established, for a replaced Job to be gone.
func WithWaitTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("apply.WithWaitTimeout: %v; use a positive duration", d)
		}
		o.waitTimeout = d
		return nil
	}
}

// WithProgress sets where one line per object goes.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("apply.WithProgress: nil writer")
		}
		o.progress = w
		return nil
	}
}

// WithFieldNames names the options in the messages that refer to one ("set
// apply.WithForceConflicts to true"), as the caller's users set them; without
// it they are named by their Field* constants.
func WithFieldNames(names field.Names) Option {
	return func(o *options) error {
		o.names = names
		return nil
	}
}

// WithClock sets the clock that times each step for the progress lines.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("apply.WithClock: nil clock")
		}
		o.now = now
		return nil
	}
}
