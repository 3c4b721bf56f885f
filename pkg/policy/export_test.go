package policy

// WithKeepBudget sets how much file content the secret scan keeps between
// its passes, so that a test can make it read the layers again.
func WithKeepBudget(n int) Option {
	return func(o *options) error {
		o.keepBudget = n
		return nil
	}
}
