package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/audit"
)

// repoWith makes a repository whose .github/workflows holds the given fixtures of pkg/audit.
func repoWith(t *testing.T, fixtures ...string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, ".github", "workflows")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, f := range fixtures {
		b, err := os.ReadFile(filepath.Join("..", "..", "pkg", "audit", "testdata", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	return root
}

func TestAuditCommand(t *testing.T) {
	t.Parallel()
	usual := repoWith(t, "usual.yml")

	r := execute(t, map[string]string{}, "audit", usual)
	assert.Equal(t, 1, r.code, r.stderr)
	line := regexp.MustCompile(`^` + regexp.QuoteMeta(filepath.Join(usual, ".github", "workflows", "usual.yml")) + `:\d+:\d+: [a-z-]+: .+ \(fix: .+\)$`)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 18)
	for _, l := range lines {
		assert.Regexp(t, line, l)
	}
	assert.Contains(t, r.stdout, "usual.yml:32:3: deploy-without-test: job CD deploys")
	assert.Contains(t, r.stderr, "audit: 10 error(s), 8 warning(s) in "+usual)
	assert.Contains(t, r.stderr, "error: audit failed: 10 error(s), 8 warning(s)")

	r = execute(t, map[string]string{}, "audit", usual, "--format", "json")
	assert.Equal(t, 1, r.code)
	var fs []audit.Finding
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &fs))
	assert.Len(t, fs, 18)
	assert.Equal(t, "excessive-permissions", fs[0].Rule)
	assert.Equal(t, audit.Error, fs[0].Severity)

	// Only warnings: exit 0.
	r = execute(t, map[string]string{}, "audit", usual, "--rules", "no-rollback,artipacked", "--actionlint=false")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.Len(t, strings.Split(strings.TrimSpace(r.stdout), "\n"), 3)

	hardened := repoWith(t, "hardened.yml")
	r = execute(t, map[string]string{}, "audit", hardened, "--format", "json")
	assert.Equal(t, 0, r.code, r.stderr)
	assert.JSONEq(t, "[]", r.stdout)
}

func TestAuditInActions(t *testing.T) {
	t.Parallel()
	usual := repoWith(t, "usual.yml")
	r := execute(t, map[string]string{"GITHUB_ACTIONS": "true"}, "audit", usual, "--rules", "deploy-without-test,no-rollback")
	assert.Equal(t, 1, r.code)
	file := filepath.Join(usual, ".github", "workflows", "usual.yml")
	assert.Contains(t, r.stdout, "::error col=3,file="+file+",line=32,title=deploy-without-test::job CD deploys")
	assert.Contains(t, r.stdout, "::warning col=11,file="+file+",line=46,title=no-rollback::job CD deploys with no way back")
}

func TestAuditBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown format", []string{"audit", repoWith(t), "--format", "xml"}, 2, `flag "format": "xml" is not a format; use text or json`},
		{"unknown rule", []string{"audit", repoWith(t, "usual.yml"), "--rules", "pins"}, 2, `flag "rules": rule "pins": unknown audit rule; known rules: artipacked,`},
		{"no workflows", []string{"audit", t.TempDir()}, 1, "no workflow files; point audit at a repository's root, or write a workflow with deploy-action generate"},
		{"two dirs", []string{"audit", "a", "b"}, 1, "accepts at most 1 arg(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := execute(t, map[string]string{}, tc.args...)
			assert.Equal(t, tc.code, r.code)
			assert.Contains(t, r.stderr, tc.want)
		})
	}
}
