package generate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/audit"
)

// auditWorkflow runs the workflow audit, actionlint included, on a
// generated workflow, as a user's `deploy-action audit` would, with version
// comments checked against the pins table.
func auditWorkflow(t *testing.T, path string, src []byte) {
	t.Helper()
	pins := DefaultPins()
	findings, err := audit.Workflow(path, src, audit.WithPins(func(repo, sha string) (string, bool) {
		if repo == testPin.Repo && sha == testPin.SHA {
			return testPin.Version, true
		}
		p, ok := pins[repo]
		return p.Version, ok && p.SHA == sha
	}))
	require.NoError(t, err)
	for _, f := range findings {
		assert.Fail(t, "audit finding", "%s", f)
	}
}
