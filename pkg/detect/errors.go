package detect

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoSource is matched (errors.Is) by a *NoSourceError.
var ErrNoSource = errors.New("no source files")

// ErrUnknownLanguage is matched (errors.Is) by an *UnknownLanguageError.
var ErrUnknownLanguage = errors.New("no known language")

// NoSourceError says a repository holds no source file of any programming
// language: nothing to build.
type NoSourceError struct {
	Root string
}

func (e *NoSourceError) Error() string {
	return fmt.Sprintf("%s: no source files (only documentation, configuration or nothing)", e.Root)
}

// Is makes errors.Is(err, ErrNoSource) hold.
func (e *NoSourceError) Is(target error) bool { return target == ErrNoSource }

// UnknownLanguageError says a service's code is in no language the generator
// knows (Python, Go, JavaScript/TypeScript, Java). Found are the programming
// languages go-enry saw there, most code first.
type UnknownLanguageError struct {
	Dir   string
	Found []string
}

func (e *UnknownLanguageError) Error() string {
	found := "none"
	if len(e.Found) > 0 {
		found = strings.Join(e.Found, ", ")
	}
	return fmt.Sprintf("service in %s: no known language (found: %s)", e.Dir, found)
}

// Is makes errors.Is(err, ErrUnknownLanguage) hold.
func (e *UnknownLanguageError) Is(target error) bool { return target == ErrUnknownLanguage }

// FileError says a project file could not be read or parsed. Line is 0 when
// the error has no position.
type FileError struct {
	File string // relative to the repository root
	Line int
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }
