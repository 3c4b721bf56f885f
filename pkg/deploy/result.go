package deploy

import (
	"fmt"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/markdown"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/rollback"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// Outcome is a deploy's verdict, as the "verdict" output states it.
type Outcome string

const (
	// Succeeded: applied, and every workload rolled out.
	Succeeded Outcome = "succeeded"
	// Failed: not applied, or a workload did not roll out.
	Failed Outcome = "failed"
	// DryRun: the API server accepted every object; nothing was stored.
	DryRun Outcome = "dry-run"
	// Interrupted: the run was cancelled after it applied; what it applied
	// was rolled back as far as the time allowed.
	Interrupted Outcome = "interrupted"
)

// Result is what a deploy did, as far as it got.
type Result struct {
	// Outcome is how the deploy ended.
	Outcome Outcome
	// Server is the API server's URL.
	Server string
	DryRun bool
	// Policy is the manifest policy's findings; nil when the manifests were
	// not checked.
	Policy *manifestpolicy.Result
	// Pin is nil when no image was pinned.
	Pin *pin.Result
	// Hooks are the release's hooks that ran, in the order run (pre hooks
	// before Apply, post hooks after the rollout); nil when there were none.
	Hooks []HookRun
	// Apply is nil when nothing was sent.
	Apply *apply.Result
	// Verdict is the rollout's; nil when nothing was watched.
	Verdict *rollout.Verdict
	// Rollback is nil when nothing was rolled back.
	Rollback *rollback.Result
}

// RolledBack reports whether the failed release was rolled back and the
// restore rolled out.
func (r *Result) RolledBack() bool { return r != nil && r.Rollback != nil && r.Rollback.RolledBack() }

// Cause is the first failed workload's cause, "Reason: message", or a failed
// hook Job's; "" when none.
func (r *Result) Cause() string {
	if r == nil {
		return ""
	}
	if r.Verdict == nil {
		return r.hookCause()
	}
	for _, w := range r.Verdict.Broken() {
		if w.Cause != nil {
			return fmt.Sprintf("%s: %s", w.Cause.Reason, w.Cause.Message)
		}
	}
	return r.hookCause()
}

// Resources names the applied objects, "Deployment shop/web", in apply order.
func (r *Result) Resources() []string {
	if r == nil || r.Apply == nil {
		return nil
	}
	out := make([]string, len(r.Apply.Objects))
	for i, o := range r.Apply.Objects {
		out[i] = o.String()
	}
	return out
}

// Markdown renders the deploy for a job summary: the objects applied, the
// rollout's verdict with a row per workload, and the rollback.
func (r *Result) Markdown() string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	title := "Deploy"
	if r.DryRun {
		title = "Deploy (dry run: nothing was stored)"
	}
	if r.Server != "" {
		title += " to `" + r.Server + "`"
	}
	fmt.Fprintf(&b, "#### %s: %s\n\n", title, r.Outcome)
	b.WriteString(r.Policy.Markdown())
	b.WriteString(r.hooksMarkdown())
	if r.Apply != nil && len(r.Apply.Objects) > 0 {
		rows := make([][]string, len(r.Apply.Objects))
		for i, o := range r.Apply.Objects {
			rows[i] = []string{"`" + o.String() + "`", string(o.Action), o.Source}
		}
		b.WriteString(markdown.Table([]string{"Object", "Applied", "From"}, rows))
		b.WriteString("\n")
	}
	if r.Apply != nil && len(r.Apply.Pruned) > 0 {
		title := "Pruned: no longer in the manifests"
		if r.DryRun {
			title = "Would be pruned: no longer in the manifests"
		}
		rows := make([][]string, len(r.Apply.Pruned))
		for i, o := range r.Apply.Pruned {
			rows[i] = []string{"`" + o.String() + "`", string(o.Action), r.Apply.ApplySet.Parent}
		}
		fmt.Fprintf(&b, "#### %s\n\n", title)
		b.WriteString(markdown.Table([]string{"Object", "Action", "ApplySet"}, rows))
		b.WriteString("\n")
	}
	if r.Verdict != nil {
		b.WriteString(r.Verdict.Markdown())
		b.WriteString("\n")
	}
	if r.Rollback != nil {
		fmt.Fprintf(&b, "#### Rollback: %s\n\n", rollbackSentence(r.Rollback))
		b.WriteString(r.Rollback.Markdown())
	}
	return b.String()
}

// rollbackSentence says in a few words what a rollback did.
func rollbackSentence(rb *rollback.Result) string {
	if rb == nil {
		return "nothing was rolled back"
	}
	var restored, nothing, objects []string
	for _, w := range rb.Workloads {
		switch w.Action {
		case rollback.Restored:
			restored = append(restored, fmt.Sprintf("%s to revision %d", w.Ref(), w.To))
		case rollback.NothingToRollBackTo:
			nothing = append(nothing, w.Ref())
		}
	}
	for _, o := range rb.Objects {
		if o.Workload == nil && (o.Action == rollback.Restored || o.Action == rollback.Deleted) {
			objects = append(objects, fmt.Sprintf("%s %s", o.Action, o))
		}
	}
	var parts []string
	switch {
	case len(restored) > 0 && rb.Verdict != nil && !rb.Verdict.Failed():
		parts = append(parts, "rolled back "+strings.Join(restored, ", ")+", and the restore rolled out")
	case len(restored) > 0:
		parts = append(parts, "rolled back "+strings.Join(restored, ", ")+", but the restore did not roll out")
	}
	if len(objects) > 0 {
		parts = append(parts, strings.Join(objects, ", "))
	}
	if f := rb.Failed(); len(f) > 0 {
		parts = append(parts, "could not put back "+strings.Join(f, "; "))
	}
	if len(nothing) > 0 {
		parts = append(parts, rollback.FirstDeployMessage+" for "+strings.Join(nothing, ", "))
	}
	if len(parts) == 0 {
		return "nothing to roll back: the failed workloads' previous revision is the live one"
	}
	return strings.Join(parts, "; ")
}
