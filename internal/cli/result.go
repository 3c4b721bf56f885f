package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/deploy-action/deploy-action/internal/report"
	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
)

// reportResult writes the outputs and the job summary of a run, as far as it got.
func (e *env) reportResult(res *pipeline.Result, runErr error) {
	if res == nil {
		return
	}
	var b strings.Builder
	b.WriteString("### deploy-action\n\n")
	if res.Image != nil {
		e.rep.Output("digest", res.Digest.String())
		fmt.Fprintf(&b, "**Image digest:** `%s`\n\n", res.Digest)
	}
	if len(res.Tags) > 0 {
		e.rep.Output("tags", strings.Join(res.Tags, ","))
		fmt.Fprintf(&b, "**Tags:** %s\n\n", "`"+strings.Join(res.Tags, "`, `")+"`")
	}
	if res.Test != nil {
		result := "passed"
		if res.Test.Failed() {
			result = "failed"
		}
		e.rep.Output("test-result", result)
		if e.rep.InActions() {
			b.WriteString(res.Test.Markdown())
		} else {
			b.WriteString(res.Test.Text())
		}
		b.WriteString("\n")
	}
	if res.Push != nil {
		var rows [][]string
		var ok []string
		for _, r := range res.Push.Registries {
			status := "pushed"
			if r.Err != nil {
				status = "failed: " + r.Err.Error()
			} else {
				ok = append(ok, r.Ref)
			}
			rows = append(rows, []string{"`" + r.Repository + "`", status, "`" + r.Ref + "`", r.Duration.Round(time.Millisecond).String()})
		}
		if len(ok) > 0 {
			e.rep.Output("image", ok[0])
			e.rep.Output("refs", strings.Join(ok, "\n"))
		}
		b.WriteString(report.Table([]string{"Registry", "Result", "Reference", "Time"}, rows))
		b.WriteString("\n")
	}
	// A release the manifest policy refused never reached the deploy: its
	// findings are in the error.
	if fe := (*manifestpolicy.FailedError)(nil); res.Deploy == nil && errors.As(runErr, &fe) {
		b.WriteString(fe.Result.Markdown())
	}
	if d := res.Deploy; d != nil {
		e.rep.Output("verdict", string(d.Outcome))
		e.rep.Output("rolled-back", strconv.FormatBool(d.RolledBack()))
		e.rep.Output("cause", d.Cause())
		e.rep.Output("resources", strings.Join(d.Resources(), "\n"))
		b.WriteString(d.Markdown())
		b.WriteString("\n")
	}
	var rows [][]string
	for _, s := range res.Stages {
		status := "ok"
		if s.Err != nil {
			status = "failed"
		}
		rows = append(rows, []string{string(s.Stage), status, s.Duration.Round(time.Millisecond).String()})
	}
	if len(rows) > 0 {
		b.WriteString(report.Table([]string{"Stage", "Result", "Time"}, rows))
	}
	if runErr != nil {
		fmt.Fprintf(&b, "\n**Failed:** %s\n", runErr)
	}
	e.rep.Summary(b.String())
	e.rep.Flush()
}
