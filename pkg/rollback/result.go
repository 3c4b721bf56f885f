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
	// Deleted: the failed release created the object; it is gone again.
	Deleted Action = "deleted"
	// Kept: the failed release created the object, and it stays: a first
	// deploy (kept for inspection), a Namespace or a CustomResourceDefinition
	// (deleting them deletes what they hold).
	Kept Action = "kept"
	// Failed: the object could not be put back; the message says why
	// (a conflict with another field manager names the fields).
	Failed Action = "failed"
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
	// Conflicts are the fields of other managers that stopped the restore
	// (Action Failed).
	Conflicts []Conflict
}

// Object is what became of one object of the release.
type Object struct {
	// Kind, Namespace and Name name the object.
	Kind, Namespace, Name string
	Action                Action
	// Message says what was done, or why nothing was.
	Message string
	// Conflicts are the fields of other managers that stopped the restore.
	Conflicts []Conflict
	// Workload is the workload's restore; nil for other kinds.
	Workload *Restore
}

// String names the object as people do: "ConfigMap shop/web".
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// Result is the outcome of a rollback.
type Result struct {
	// Objects are every object of the release, in the order they were
	// applied (Release); empty when only workloads were rolled back.
	Objects   []Object
	Workloads []Restore
	// Verdict is the restore's own rollout verdict; nil when nothing was
	// restored.
	Verdict *rollout.Verdict
}

// RolledBack reports whether at least one workload was restored and every
// restore rolled out.
//
// For a whole release (Release): at least one object was put back (deleted
// or restored), none failed, and the restored workloads rolled out.
func (r *Result) RolledBack() bool {
	if len(r.Failed()) > 0 || (r.Verdict != nil && r.Verdict.Failed()) {
		return false
	}
	if r.Verdict != nil {
		return true
	}
	for _, o := range r.Objects {
		if o.Action == Deleted || o.Action == Restored {
			return true
		}
	}
	return false
}

// Failed lists the objects and workloads that could not be put back.
func (r *Result) Failed() []string {
	var out []string
	for _, o := range r.Objects {
		if o.Action == Failed && o.Workload == nil {
			out = append(out, o.String()+": "+o.Message)
		}
	}
	for _, w := range r.Workloads {
		if w.Action == Failed {
			out = append(out, w.Ref()+": "+w.Message)
		}
	}
	return out
}

// Err is nil unless an object could not be put back or a restore failed to
// roll out.
func (r *Result) Err() error {
	var errs []error
	if f := r.Failed(); len(f) > 0 {
		errs = append(errs, fmt.Errorf("the rollback could not put back %s", strings.Join(f, "; ")))
	}
	if r.Verdict != nil && r.Verdict.Failed() {
		errs = append(errs, fmt.Errorf("the rollback did not roll out: %w", r.Verdict.Err()))
	}
	return errors.Join(errs...)
}

// Markdown renders the rollback for a job summary: a row per object of the
// release (per workload when only workloads were rolled back) with what was
// done to it.
func (r *Result) Markdown() string {
	if len(r.Objects) > 0 {
		return r.objectsMarkdown()
	}
	rows := make([][]string, 0, len(r.Workloads))
	for _, w := range r.Workloads {
		rows = append(rows, r.workloadRow(w))
	}
	out := markdown.Table([]string{"Workload", "Namespace", "Revision", "Image", "Rollback", "Restore"}, rows)
	return out + r.restoreFailure()
}

func (r *Result) objectsMarkdown() string {
	rows := make([][]string, 0, len(r.Objects))
	for _, o := range r.Objects {
		if o.Workload != nil {
			row := r.workloadRow(*o.Workload)
			rows = append(rows, []string{"`" + o.String() + "`", string(o.Workload.Action), row[2], row[3], row[4], row[5]})
			continue
		}
		rows = append(rows, []string{"`" + o.String() + "`", string(o.Action), "", "", o.Message, ""})
	}
	out := markdown.Table([]string{"Object", "Rollback", "Revision", "Image", "Detail", "Restore"}, rows)
	return out + r.restoreFailure()
}

func (r *Result) restoreFailure() string {
	if r.Verdict != nil && r.Verdict.Failed() {
		return "\nThe restore itself failed:\n\n" + r.Verdict.Markdown()
	}
	return ""
}

// workloadRow is Workload, Namespace, Revision, Image, Rollback, Restore.
func (r *Result) workloadRow(w Restore) []string {
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
	return []string{"`" + w.Ref() + "`", w.Namespace, rev, strings.Join(images, "\n"), w.Message, result}
}

var errNoTargets = errors.New("rollback: no workloads to roll back")
