package audit

import (
	"fmt"
	"io"

	"github.com/rhysd/actionlint"
)

// capture is a pass added to actionlint's own rules: it keeps the workflow actionlint parsed, so
// our rules read the same syntax tree (with its positions) instead of parsing the file again.
type capture struct {
	actionlint.RuleBase
	wf *actionlint.Workflow
}

func (c *capture) VisitWorkflowPre(w *actionlint.Workflow) error {
	c.wf = w
	return nil
}

// lint runs actionlint on one file in-process and returns its parsed workflow and its findings.
func lint(path string, src []byte) (*actionlint.Workflow, []*actionlint.Error, error) {
	c := &capture{RuleBase: actionlint.NewRuleBase("deploy-action-audit", "")}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		// Empty executables turn the shellcheck and pyflakes rules off. The actionlint command
		// runs them when it finds them on PATH, which would make the findings depend on the
		// machine; the library leaves them off unless named, and so do we.
		Shellcheck: "",
		Pyflakes:   "",
		// ColorOptionKindAuto with a writer that is not a terminal leaves the color package's
		// process-wide switch alone, so audits can run in parallel.
		Color:          actionlint.ColorOptionKindAuto,
		Oneline:        true,
		OnRulesCreated: func(rs []actionlint.Rule) []actionlint.Rule { return append(rs, c) },
	})
	if err != nil {
		return nil, nil, fmt.Errorf("starting actionlint: %w", err)
	}
	errs, err := l.Lint(path, src, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("actionlint: %w", err)
	}
	// c.wf stays nil when the YAML does not parse: actionlint then runs no rule, and reports why.
	return c.wf, errs, nil
}
