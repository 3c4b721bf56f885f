package summary

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/markdown"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
)

// Markdown renders what a run did as a job summary headed title: the digest
// and tags, the image test, a row per registry, the deploy, and a row per
// stage; runErr, when the run failed, closes it.
func Markdown(title string, r *pipeline.Result, runErr error) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", title)
	if r.Image != nil {
		fmt.Fprintf(&b, "**Image digest:** `%s`\n\n", r.Digest)
	}
	if len(r.Tags) > 0 {
		fmt.Fprintf(&b, "**Tags:** %s\n\n", "`"+strings.Join(r.Tags, "`, `")+"`")
	}
	if r.Test != nil {
		b.WriteString(r.Test.Markdown())
		b.WriteString("\n")
	}
	if r.Push != nil {
		var rows [][]string
		for _, reg := range r.Push.Registries {
			status := "pushed"
			if reg.Err != nil {
				status = "failed: " + reg.Err.Error()
			}
			rows = append(rows, []string{"`" + reg.Repository + "`", status, "`" + reg.Ref + "`", reg.Duration.Round(time.Millisecond).String()})
		}
		b.WriteString(markdown.Table([]string{"Registry", "Result", "Reference", "Time"}, rows))
		b.WriteString("\n")
	}
	// A release the manifest policy refused never reached the deploy: its
	// findings are in the error.
	if fe := (*manifestpolicy.FailedError)(nil); (r.Deploy == nil || r.Deploy.Policy == nil) && errors.As(runErr, &fe) {
		b.WriteString(fe.Result.Markdown())
	}
	if r.Deploy != nil {
		b.WriteString(r.Deploy.Markdown())
		b.WriteString("\n")
	}
	var rows [][]string
	for _, s := range r.Stages {
		status := "ok"
		if s.Err != nil {
			status = "failed"
		}
		rows = append(rows, []string{string(s.Stage), status, s.Duration.Round(time.Millisecond).String()})
	}
	if len(rows) > 0 {
		b.WriteString(markdown.Table([]string{"Stage", "Result", "Time"}, rows))
	}
	if runErr != nil {
		fmt.Fprintf(&b, "\n**Failed:** %s\n", runErr)
	}
	return b.String()
}
