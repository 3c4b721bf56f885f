package rollback

import (
	"errors"
	"io"
	"strings"

	"k8s.io/client-go/dynamic"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Fields of the options, as a *field.Error or a field.Names names them.
const (
	FieldFieldManager   = "rollback.WithFieldManager"
	FieldForceConflicts = "rollback.WithForceConflicts"
)

// DefaultFieldManager is the field manager the restores write as.
const DefaultFieldManager = "deploy-action"

// Option configures a Restorer; options are checked when it is made.
type Option func(*options) error

type options struct {
	fieldManager string
	force        bool
	names        field.Names
	log          io.Writer
	dyn          dynamic.Interface
}

func defaults() *options {
	return &options{fieldManager: DefaultFieldManager, log: io.Discard}
}

// WithFieldManager names the field manager of the restores. Use the apply's,
// so that the fields a restore sets belong to the same manager as the next
// deploy's.
func WithFieldManager(name string) Option {
	return func(o *options) error {
		if strings.TrimSpace(name) == "" || len(name) > 128 {
			return field.Errorf(FieldFieldManager, `%q is not a field manager name; use a short non-empty name such as "deploy-action"`, name)
		}
		o.fieldManager = name
		return nil
	}
}

// WithFieldNames names the settings the messages refer to (field.Names),
// such as FieldForceConflicts in a conflict's fix.
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}

// WithForceConflicts makes the restores take over the fields other field
// managers own, as the apply does with the same setting. Without it, a
// restore that conflicts stops, and the Result names the managers and fields.
func WithForceConflicts(force bool) Option {
	return func(o *options) error {
		o.force = force
		return nil
	}
}

// WithDynamicClient is the client that deletes and restores the objects of a
// release that are not workloads (Release); the workloads go through the
// clientset of New.
func WithDynamicClient(dyn dynamic.Interface) Option {
	return func(o *options) error {
		if dyn == nil {
			return errors.New("rollback.WithDynamicClient: nil client")
		}
		o.dyn = dyn
		return nil
	}
}

// WithLog receives one line per step of the rollback, for people.
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("rollback.WithLog: nil writer")
		}
		o.log = w
		return nil
	}
}
