package generate

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/templates"
)

// TestUserTemplates renders from a template directory: a copy of the
// built-in templates with one line changed.
func TestUserTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, n := range templateNames {
		data, err := fs.ReadFile(templates.Workflow, "workflow/"+n)
		require.NoError(t, err)
		if n == "deploy.yml.tmpl" {
			data = []byte(strings.Replace(string(data), "name: deploy\n", "name: delivery\n", 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), data, 0o644))
	}
	res, err := Generate(context.Background(), shopRepo(t.TempDir()), nil, Overrides{Templates: dir}, WithActionPin(testPin))
	require.NoError(t, err)
	for _, f := range res.Files {
		if f.Path == DefaultWorkflowPath {
			assert.Contains(t, string(f.Data), "\nname: delivery\n")
		}
	}
	assert.Contains(t, res.Overrides, "workflow.templates (flag --templates)")
}

// FuzzReadConfig: any bytes give a config or an InputError, never a panic.
func FuzzReadConfig(f *testing.F) {
	f.Add("registry: ghcr.io\nenvironments:\n  - name: staging\n    trigger: push\n")
	f.Add("services:\n  - name: shop\n    paths: [a, b]\nfiles:\n  parts: {monitoring: skip}\n")
	f.Add("action: {repository: a/b, version: v1.0.0, sha: 0123456789012345678901234567890123456789}\n")
	f.Add("colour: [")
	f.Fuzz(func(t *testing.T, s string) {
		lc, err := ReadConfig(strings.NewReader(s), ConfigPath)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("not an InputError: %v", err)
			}
			return
		}
		if _, err := lc.Config.Marshal(); err != nil {
			t.Fatalf("a config read cannot be written: %v", err)
		}
	})
}
