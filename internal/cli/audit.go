package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/deploy-action/deploy-action/pkg/audit"
)

// auditFailed is the error of an audit with findings of error severity: the exit code is 1 and
// the findings themselves were already printed.
type auditFailed struct{ errors, warnings int }

func (a auditFailed) Error() string {
	return fmt.Sprintf("audit failed: %d error(s), %d warning(s)", a.errors, a.warnings)
}

func newAuditCmd(e *env) *cobra.Command {
	var (
		format     string
		rules      []string
		actionlint bool
	)
	c := &cobra.Command{
		Use:   "audit [DIR]",
		Short: "Check a repository's workflows for security and delivery faults",
		Long: `audit reads every workflow under DIR/.github/workflows (default DIR: .) and reports each
fault with its file, line and column, the rule it breaks and how to fix it: template injection,
unpinned actions and images, broad permissions, persisted credentials, dangerous triggers, cache
poisoning, secrets outside environments, long-lived cloud keys, and deploys without tests, rollback,
approval or a digest. actionlint runs in-process too. It exits 1 when a finding is an error.`,
		Example: `  deploy-action audit
  deploy-action audit ../shop --format json
  deploy-action audit --rules unpinned-uses,template-injection --actionlint=false`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if format != "text" && format != "json" {
				return usageError{cmd: "audit", err: fmt.Errorf("flag \"format\": %q is not a format; use text or json", format)}
			}
			opts := []audit.Option{audit.WithActionlint(actionlint)}
			if len(rules) > 0 {
				opts = append(opts, audit.WithRules(rules...))
			}
			findings, err := audit.Dir(dir, opts...)
			switch {
			case errors.Is(err, audit.ErrUnknownRule):
				return usageError{cmd: "audit", err: fmt.Errorf("flag \"rules\": %w", err)}
			case errors.Is(err, audit.ErrNoWorkflows):
				return fmt.Errorf("%w; point audit at a repository's root, or write a workflow with deploy-action generate", err)
			case err != nil:
				return err
			}
			if err := e.printFindings(findings, format); err != nil {
				return err
			}
			nerr, nwarn := audit.Count(findings)
			if format == "text" {
				fmt.Fprintf(e.stderr, "audit: %d error(s), %d warning(s) in %s\n", nerr, nwarn, dir)
			}
			if nerr > 0 {
				return auditFailed{nerr, nwarn}
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text (file:line:col: rule: message (fix: ...)) or json")
	c.Flags().StringSliceVar(&rules, "rules", nil, "run only these rules (default: all): "+strings.Join(audit.RuleNames(), ", "))
	c.Flags().BoolVar(&actionlint, "actionlint", true, "run actionlint's checks too (findings named actionlint/<kind>)")
	return c
}

func (e *env) printFindings(findings []audit.Finding, format string) error {
	if format == "json" {
		if findings == nil {
			findings = []audit.Finding{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(findings); err != nil {
			return fmt.Errorf("writing findings: %w", err)
		}
		return nil
	}
	for _, f := range findings {
		if !e.rep.InActions() {
			fmt.Fprintln(e.stdout, f.String())
			continue
		}
		// In a workflow run, each finding is an annotation on its line of the workflow file.
		a := e.rep.Action().WithFieldsMap(map[string]string{
			"file": f.File, "line": strconv.Itoa(f.Line), "col": strconv.Itoa(f.Column), "title": f.Rule,
		})
		if f.Severity == audit.Error {
			a.Errorf("%s (fix: %s)", f.Message, f.Fix)
		} else {
			a.Warningf("%s (fix: %s)", f.Message, f.Fix)
		}
	}
	return nil
}
