package manifestpolicy

import (
	"fmt"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/markdown"
)

// Verdict says in a few words how the release fared.
func (r *Result) Verdict() string {
	fails, warns := len(r.failures()), len(r.Warnings())
	waived := 0
	for _, f := range r.Findings {
		if !f.Counts() {
			waived++
		}
	}
	var s string
	switch {
	case fails > 0:
		s = fmt.Sprintf("failed: %d finding(s) that stop the deploy, %d warning(s)", fails, warns)
	case warns > 0:
		s = fmt.Sprintf("passed with %d warning(s)", warns)
	default:
		s = "passed"
	}
	s += fmt.Sprintf(" in %d object(s)", r.Objects)
	if waived > 0 {
		s += fmt.Sprintf("; %d waived", waived)
	}
	return s
}

// Text is one line per finding that counts, for a log: "fail secrets
// Deployment/app (k8s/app.yaml:31): message; fix: ...".
func (r *Result) Text() string {
	var b strings.Builder
	for _, f := range r.Findings {
		if !f.Counts() {
			continue
		}
		fmt.Fprintf(&b, "%s %s %s (%s): %s; fix: %s\n", f.Mode, f.Check, f.Object, f.Source, f.Message, f.Fix)
	}
	return b.String()
}

// Markdown renders the findings for a job summary: a table of those that
// count, failures first, and the waived ones with their reasons.
func (r *Result) Markdown() string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### Manifest policy: %s\n\n", r.Verdict())
	var rows [][]string
	for _, m := range []Mode{Fail, Warn} {
		for _, f := range r.counting(m) {
			icon := "⚠️ warn"
			if m == Fail {
				icon = "❌ fail"
			}
			rows = append(rows, []string{icon, "`" + string(f.Check) + "`", "`" + f.Object + "`", f.Source, f.Message, f.Fix})
		}
	}
	if len(rows) > 0 {
		b.WriteString(markdown.Table([]string{"Result", "Check", "Object", "Where", "Finding", "Fix"}, rows))
		b.WriteString("\n")
	}
	var waived [][]string
	for _, f := range r.Findings {
		if !f.Counts() {
			waived = append(waived, []string{"`" + string(f.Check) + "`", "`" + f.Object + "`", f.Source, f.Waived})
		}
	}
	if len(waived) > 0 {
		b.WriteString("<details><summary>Waived findings</summary>\n\n")
		b.WriteString(markdown.Table([]string{"Check", "Object", "Where", "Why"}, waived))
		b.WriteString("\n</details>\n\n")
	}
	return b.String()
}
