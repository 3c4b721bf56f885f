package generate

import (
	"fmt"
	"io"

	"github.com/rhysd/actionlint"
)

// Lint runs actionlint in-process on a workflow and returns its findings as
// "path:line:col: message [rule]"; shellcheck and pyflakes are not run.
func Lint(path string, src []byte) ([]string, error) {
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		return nil, fmt.Errorf("starting actionlint: %w", err)
	}
	errs, err := l.Lint("<stdin>", src, nil)
	if err != nil {
		return nil, fmt.Errorf("actionlint: %w", err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, fmt.Sprintf("%s:%d:%d: %s [%s]", path, e.Line, e.Column, e.Message, e.Kind))
	}
	return out, nil
}
