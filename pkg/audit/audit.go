package audit

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
)

// Finding is one fault at one place of a workflow file.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

// String formats the finding the way compilers do, so editors can jump to it.
func (f Finding) String() string {
	s := fmt.Sprintf("%s:%d:%d: %s: %s", f.File, f.Line, f.Column, f.Rule, f.Message)
	if f.Fix != "" {
		s += " (fix: " + f.Fix + ")"
	}
	return s
}

// Severity ranks findings: an Error fails the audit, a Warning is reported.
type Severity int

const (
	Warning Severity = iota + 1
	Error
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalText writes the severity's name, so JSON output reads "error" or "warning".
func (s Severity) MarshalText() ([]byte, error) {
	if s != Warning && s != Error {
		return nil, fmt.Errorf("severity %d: %w", int(s), ErrUnknownSeverity)
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "warning":
		*s = Warning
	case "error":
		*s = Error
	default:
		return fmt.Errorf("severity %q: %w", b, ErrUnknownSeverity)
	}
	return nil
}

var (
	// ErrUnknownRule is returned for a rule name WithRules does not know.
	ErrUnknownRule = errors.New("unknown audit rule")
	// ErrUnknownSeverity is returned when a severity name or value is not one of ours.
	ErrUnknownSeverity = errors.New("unknown severity")
	// ErrNoWorkflows is returned by Dir when the directory has no workflow files.
	ErrNoWorkflows = errors.New("no workflow files")
)

// ActionlintPrefix starts the Rule of every finding that comes from actionlint: "actionlint/<kind>".
const ActionlintPrefix = "actionlint/"

// Option configures an audit.
type Option func(*options)

type options struct {
	pins       func(repo, sha string) (string, bool)
	actionlint bool
	rules      []string
}

// WithPins gives ref-version-mismatch the version each pinned commit is: pins("actions/checkout",
// "<40 hex>") returns ("v4.2.2", true). Without it, version comments are not checked.
func WithPins(pins func(repo, sha string) (version string, ok bool)) Option {
	return func(o *options) { o.pins = pins }
}

// WithActionlint turns actionlint's checks on (the default) or off. Its parser is used either way.
func WithActionlint(on bool) Option { return func(o *options) { o.actionlint = on } }

// WithRules runs only the named rules (see Rules); actionlint is governed by WithActionlint alone.
func WithRules(names ...string) Option {
	return func(o *options) { o.rules = append(o.rules, names...) }
}

// ruleSet is the rules an audit runs, resolved once from the options.
func (o *options) ruleSet() ([]rule, error) {
	if len(o.rules) == 0 {
		return allRules, nil
	}
	var out []rule
	for _, n := range o.rules {
		i := slices.IndexFunc(allRules, func(r rule) bool { return r.name == n })
		if i < 0 {
			return nil, fmt.Errorf("rule %q: %w; known rules: %s", n, ErrUnknownRule, strings.Join(RuleNames(), ", "))
		}
		if !slices.ContainsFunc(out, func(r rule) bool { return r.name == n }) {
			out = append(out, allRules[i])
		}
	}
	return out, nil
}

func makeOptions(opts []Option) (*options, []rule, error) {
	o := &options{actionlint: true}
	for _, opt := range opts {
		opt(o)
	}
	rules, err := o.ruleSet()
	if err != nil {
		return nil, nil, err
	}
	return o, rules, nil
}

// Workflow runs every selected rule, and actionlint, on one workflow file's content. path names the
// file in the findings. A file that is not YAML, or not a workflow, yields actionlint's syntax
// findings: the other rules need the parsed workflow.
func Workflow(path string, src []byte, opts ...Option) ([]Finding, error) {
	o, rules, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	return audit(path, src, o, rules)
}

func audit(path string, src []byte, o *options, rules []rule) ([]Finding, error) {
	var (
		wf       *actionlint.Workflow
		findings []Finding
	)
	if o.actionlint {
		w, errs, err := lint(path, src)
		if err != nil {
			return nil, err
		}
		wf = w
		findings = append(findings, fromActionlint(path, errs)...)
	} else {
		w, errs := actionlint.Parse(src)
		wf = w
		if w == nil {
			// Nothing to audit: say why, in actionlint's words, even with its rules off.
			findings = append(findings, fromActionlint(path, errs)...)
		}
	}
	if wf != nil {
		f := newFile(path, src, wf, o)
		for _, r := range rules {
			r.check(f)
		}
		findings = append(findings, f.findings...)
	}
	sortFindings(findings)
	return findings, nil
}

func fromActionlint(path string, errs []*actionlint.Error) []Finding {
	out := make([]Finding, 0, len(errs))
	for _, e := range errs {
		out = append(out, Finding{
			File: path, Line: max(e.Line, 1), Column: max(e.Column, 1),
			Rule: ActionlintPrefix + e.Kind, Severity: Error, Message: e.Message,
			Fix: "see https://github.com/rhysd/actionlint/blob/v1.7.12/docs/checks.md",
		})
	}
	return out
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Column, b.Column), cmp.Compare(a.Message, b.Message))
	})
}

// Dir audits every workflow of the repository at root: the .yml and .yaml files directly under
// .github/workflows, as GitHub reads them. Findings name files as root joined with their path.
func Dir(root string, opts ...Option) ([]Finding, error) {
	o, rules, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, ".github", "workflows")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoWorkflows)
	}
	if err != nil {
		return nil, fmt.Errorf("reading workflows: %w", err)
	}
	var findings []Finding
	n := 0
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yml" && ext != ".yaml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading workflow: %w", err)
		}
		fs, err := audit(path, src, o, rules)
		if err != nil {
			return nil, fmt.Errorf("auditing %s: %w", path, err)
		}
		findings = append(findings, fs...)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: %w", dir, ErrNoWorkflows)
	}
	sortFindings(findings)
	return findings, nil
}

// Count returns how many findings have each severity.
func Count(fs []Finding) (errs, warnings int) {
	for _, f := range fs {
		switch f.Severity {
		case Error:
			errs++
		case Warning:
			warnings++
		}
	}
	return errs, warnings
}
