package rollback

import (
	"errors"
	"fmt"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/markdown"
	"github.com/deploy-action/deploy-action/pkg/rollout"
)

// Action is what a rollback did to one workload.
type Action string

const (
	// Restored: the previous revision's template is back; the Verdict says
	// whether it rolled out.
	Restored Action = "restored"
	// NothingToRollBackTo: the deploy created the workload, or the revision
	// before it is no longer kept; it is left as it is.
	NothingToRollBackTo Action = "nothing-to-roll-back-to"
	// Unchanged: the previous revision is the live one; the deploy did not
	// change the pod template.
	Unchanged Action = "unchanged"
	// Skipped: the workload cannot be rolled back (a Job, a paused Deployment).
	Skipped Action = "skipped"
)

// FirstDeployMessage is how a rollback says a workload had no revision before.
const FirstDeployMessage = "first deploy, nothing to roll back to"

// Restore is what became of one workload.
type Restore struct {
	// Target is the workload, with the generation the restore wrote.
	rollout.Target
	Action Action
	// From is the revision that failed, To the one restored (0 when none).
	From, To int64
	// Images pairs each container's image in the failed revision (Old) with
	// the restored one (New).
	Images []rollout.ImageChange
	// Message says what was done, or why nothing was, in a sentence.
	Message string
}

// Result is the outcome of a rollback.
type Result struct {
	Workloads []Restore
	// Verdict is the restore's own rollout verdict; nil when nothing was
	// restored.
	Verdict *rollout.Verdict
}

// RolledBack reports whether at least one workload was restored and every
// restore rolled out.
func (r *Result) RolledBack() bool {
	return r.Verdict != nil && !r.Verdict.Failed()
}

// Err is nil unless a restore failed to roll out.
func (r *Result) Err() error {
	if r.Verdict == nil || !r.Verdict.Failed() {
		return nil
	}
	return fmt.Errorf("the rollback did not roll out: %w", r.Verdict.Err())
}

// Markdown renders the rollback for a job summary.
func (r *Result) Markdown() string {
	rows := make([][]string, 0, len(r.Workloads))
	for _, w := range r.Workloads {
		rev := ""
		if w.Action == Restored {
			rev = fmt.Sprintf("%d → %d", w.From, w.To)
		}
		var images []string
		for _, c := range w.Images {
			if c.Old != c.New {
				images = append(images, c.Old+" → "+c.New)
			}
		}
		result := ""
		if w.Action == Restored && r.Verdict != nil {
			for _, v := range r.Verdict.Workloads {
				if v.Kind == w.Kind && v.Namespace == w.Namespace && v.Name == w.Name {
					result = string(v.State)
					if v.Cause != nil {
						result += ": " + string(v.Cause.Reason)
					}
				}
			}
		}
		rows = append(rows, []string{"`" + w.Ref() + "`", w.Namespace, rev, strings.Join(images, "\n"), w.Message, result})
	}
	out := markdown.Table([]string{"Workload", "Namespace", "Revision", "Image", "Rollback", "Restore"}, rows)
	if r.Verdict != nil && r.Verdict.Failed() {
		out += "\nThe restore itself failed:\n\n" + r.Verdict.Markdown()
	}
	return out
}

var errNoTargets = errors.New("rollback: no workloads to roll back")
