package manifestpolicy_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/render"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// firstRelease is a first release of the seed's shop as a newcomer writes it.
const firstRelease = "../../e2e/testdata/first-release"

func check(t testing.TB, cfg manifestpolicy.Config, paths ...string) *manifestpolicy.Result {
	t.Helper()
	objs, err := render.Render(context.Background(), render.Spec{Paths: paths})
	require.NoError(t, err)
	c, err := manifestpolicy.New(cfg)
	require.NoError(t, err)
	res, err := c.Check(context.Background(), objs)
	require.NoError(t, err)
	return res
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, string(want), got, "run go test -update to accept, then review the diff")
}

// TestFirstRelease: every problem of the first release is found, with the
// file and line of the field at fault, and with the defaults only the plain
// passwords stop the deploy.
func TestFirstRelease(t *testing.T) {
	t.Parallel()
	res := check(t, manifestpolicy.Config{Namespace: "shop"}, firstRelease)
	golden(t, "first-release.txt", res.Text())
	golden(t, "first-release.md", res.Markdown())
	require.True(t, res.Failed())
	var fe *manifestpolicy.FailedError
	require.ErrorAs(t, res.Err(), &fe)
	for _, f := range res.Findings {
		assert.NotContains(t, f.Message+f.Fix, "Tr0ub4dor", "a finding quotes the password")
	}
	assert.NotContains(t, res.Markdown()+res.Err().Error(), "Tr0ub4dor")
}
