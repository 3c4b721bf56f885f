package detect

import (
	"io/fs"
)

// Option changes how Detect reads a repository.
type Option func(*options)

type options struct {
	fsys      fs.FS
	languages map[string]Language // service dir ("" for all) -> language
}

// WithFS reads the repository from fsys instead of the directory root names;
// root is then only recorded in Repository.Root.
func WithFS(fsys fs.FS) Option {
	return func(o *options) { o.fsys = fsys }
}

// WithLanguage sets the language of the service in dir (relative to the
// root; "" for every service) instead of detecting it, and reads that
// language's project files. It is how a caller applies an override such as
// --language.
func WithLanguage(dir string, l Language) Option {
	return func(o *options) {
		if o.languages == nil {
			o.languages = map[string]Language{}
		}
		o.languages[dir] = l
	}
}
