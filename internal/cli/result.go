package cli

import (
	"strconv"
	"strings"

	"github.com/deploy-action/deploy-action/internal/summary"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
)

// reportResult writes the outputs and the job summary of a run, as far as it got.
func (e *env) reportResult(res *pipeline.Result, runErr error) {
	if res == nil {
		return
	}
	if res.Image != nil {
		e.rep.Output("digest", res.Digest.String())
	}
	if len(res.Tags) > 0 {
		e.rep.Output("tags", strings.Join(res.Tags, ","))
	}
	if res.Test != nil {
		result := "passed"
		if res.Test.Failed() {
			result = "failed"
		}
		e.rep.Output("test-result", result)
	}
	if res.Push != nil {
		var ok []string
		for _, r := range res.Push.Registries {
			if r.Err == nil {
				ok = append(ok, r.Ref)
			}
		}
		if len(ok) > 0 {
			e.rep.Output("image", ok[0])
			e.rep.Output("refs", strings.Join(ok, "\n"))
		}
	}
	if d := res.Deploy; d != nil {
		e.rep.Output("verdict", string(d.Outcome))
		e.rep.Output("rolled-back", strconv.FormatBool(d.RolledBack()))
		e.rep.Output("cause", d.Cause())
		e.rep.Output("resources", strings.Join(d.Resources(), "\n"))
	}
	e.rep.Summary(summary.Markdown("deploy-action", res, runErr))
	e.rep.Flush()
}
