package rollout

import (
	"fmt"
	"strings"
	"time"

	"github.com/deploy-action/deploy-action/pkg/markdown"
)

// Markdown renders the verdict for a job summary: a row per workload (images
// old and new, replicas, time to ready, result), then for each failure its
// cause, fix, events, last log lines and the commands to run next.
func (v *Verdict) Markdown() string {
	var b strings.Builder
	rows := make([][]string, 0, len(v.Workloads))
	for _, w := range v.Workloads {
		ready := ""
		if w.State == Ready {
			ready = w.TimeToReady.Round(100 * time.Millisecond).String()
		}
		result := "✅ rolled out"
		switch w.State {
		case Broken:
			result = "❌ " + string(w.Cause.Reason)
		case Pending:
			result = "⏸ still rolling out"
		}
		rows = append(rows, []string{"`" + w.Ref() + "`", w.Namespace, w.ImageSummary(), replicas(w), ready, result})
	}
	b.WriteString(markdown.Table([]string{"Workload", "Namespace", "Image", "Replicas", "Ready in", "Result"}, rows))
	for _, w := range v.Workloads {
		if w.Cause == nil {
			continue
		}
		c := w.Cause
		fmt.Fprintf(&b, "\n#### `%s`: %s\n\n%s\n\n**Fix:** %s\n", w.Ref(), c.Reason, c.Message, c.Fix)
		if len(c.Events) > 0 {
			b.WriteString("\nEvents:\n\n")
			for _, e := range c.Events {
				fmt.Fprintf(&b, "- %s\n", e)
			}
		}
		if len(c.Logs) > 0 {
			fence := "```"
			for strings.Contains(strings.Join(c.Logs, "\n"), fence) {
				fence += "`"
			}
			fmt.Fprintf(&b, "\nLast log lines of `%s`:\n\n%s\n%s\n%s\n", c.Container, fence, strings.Join(c.Logs, "\n"), fence)
		}
		if len(w.Commands) > 0 {
			fmt.Fprintf(&b, "\nNext:\n\n```sh\n%s\n```\n", strings.Join(w.Commands, "\n"))
		}
	}
	return b.String()
}

func replicas(w Workload) string {
	r := w.Replicas
	if w.Kind == Job {
		return fmt.Sprintf("%d/%d completed", r.Ready, r.Desired)
	}
	return fmt.Sprintf("%d/%d available, %d updated", r.Available, r.Desired, r.Updated)
}
