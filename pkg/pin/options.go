package pin

import "github.com/deploy-action/deploy-action/pkg/field"

// Policy is what Pin does with a mapping that matches no container.
type Policy string

// The policies.
const (
	// Fail stops the deploy: what was pushed would not run.
	Fail Policy = "error"
	// Warn reports it in Result.Warnings and goes on, for manifests shared by
	// several services where not every image is in every deploy.
	Warn Policy = "warn"
)

// Option configures Pin.
type Option func(*options) error

type options struct {
	unmatched Policy
	names     field.Names
}

func newOptions(opts []Option) (*options, error) {
	o := &options{unmatched: Fail}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithUnmatched sets what a mapping that matches no container does; default
// Fail.
func WithUnmatched(p Policy) Option {
	return func(o *options) error {
		switch p {
		case Fail, Warn:
			o.unmatched = p
			return nil
		}
		return field.Errorf(FieldUnmatched, "%q is not a policy; use error or warn", p)
	}
}

// WithFieldNames names the settings that messages refer to in the caller's
// terms (the action's inputs, in "<mappings> line 2 matches no container");
// without it they are named by their Field constants.
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}
