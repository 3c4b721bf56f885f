package rollout

import (
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/utils/clock"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Fields of the options, as a *field.Error or a field.Names names them.
const (
	FieldTimeout = "rollout.WithTimeout"
	FieldGrace   = "rollout.WithGrace"
)

// Defaults, in one place.
const (
	// DefaultTimeout bounds a watch that sees no cause: kubectl rollout status
	// waits for progressDeadlineSeconds (10 minutes by default); half of that is
	// plenty for a service to start.
	DefaultTimeout = 5 * time.Minute
	// DefaultGrace is how long a pod may run without becoming ready, or the
	// API server may refuse pods (a quota, an admission rule), before that is
	// a failure: both can clear by themselves, a slow start or old pods
	// freeing their quota during a rolling update.
	DefaultGrace = 30 * time.Second
	// DefaultLogLines is how many of a crashed container's last lines a cause
	// carries.
	DefaultLogLines = 20
)

// Option configures a Watcher. Options are checked when the Watcher is made.
type Option func(*options) error

type options struct {
	timeout  time.Duration
	grace    time.Duration
	logLines int
	clock    clock.Clock
	log      io.Writer
	names    field.Names
}

func defaults() *options {
	return &options{
		timeout:  DefaultTimeout,
		grace:    DefaultGrace,
		logLines: DefaultLogLines,
		clock:    clock.RealClock{},
		log:      io.Discard,
	}
}

// WithTimeout sets the deadline of a watch. A known cause ends the watch
// before it.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return field.Errorf(FieldTimeout, `%s is not a duration a rollout can take; use a positive duration such as "5m"`, d)
		}
		o.timeout = d
		return nil
	}
}

// WithGrace sets how long a container may run without becoming ready, and
// how long the API server may refuse a workload's pods, before the watch calls
// it a failure. A container whose probes allow longer (initialDelaySeconds +
// periodSeconds × failureThreshold) gets that long.
func WithGrace(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return field.Errorf(FieldGrace, `%s is negative; use a duration such as "30s", or "0s" to fail at the first unready pod`, d)
		}
		o.grace = d
		return nil
	}
}

// WithFieldNames names the settings the messages refer to (field.Names),
// such as FieldTimeout in the fix of a rollout that ran out of time.
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}

// WithLogLines sets how many of a crashed container's last log lines a cause
// carries; 0 fetches none.
func WithLogLines(n int) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("rollout: %d log lines; use 0 or more", n)
		}
		o.logLines = n
		return nil
	}
}

// WithClock replaces the wall clock, for tests.
func WithClock(c clock.Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("rollout.WithClock: nil clock")
		}
		o.clock = c
		return nil
	}
}

// WithLog receives one line each time a workload's progress changes, for
// people watching a deploy.
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("rollout.WithLog: nil writer")
		}
		o.log = w
		return nil
	}
}
