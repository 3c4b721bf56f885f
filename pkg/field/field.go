package field

import "fmt"

// Error is a problem with one field of a configuration.
type Error struct {
	// Field names the field, qualified by its package and type:
	// "smoke.Config.ReadyPort". Each package declares its fields as constants.
	Field string
	// Err says what is wrong with the value and how to fix it, without
	// naming the field.
	Err error
}

func (e *Error) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error for field f.
func Errorf(f, format string, args ...any) error {
	return &Error{Field: f, Err: fmt.Errorf(format, args...)}
}

// Names names fields as the user sets them: an action's inputs, a command's
// flags. A stage given Names writes `input "rollback" is false` where, on its
// own, it writes `deploy.Config.Rollback is false`.
type Names func(field string) string

// Of is the user's name for field f: n's, or f itself where n has none.
func (n Names) Of(f string) string {
	if n != nil {
		if s := n(f); s != "" {
			return s
		}
	}
	return f
}

// Map names the fields m holds, each by its value, and no other.
func Map(m map[string]string) Names {
	return func(f string) string { return m[f] }
}
