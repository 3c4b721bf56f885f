package manifestpolicy_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/render"
)

// boutique is a release of Online Boutique's size: 35 objects, 11 workloads.
func boutique(t testing.TB) []render.Object {
	data, err := os.ReadFile("testdata/boutique.yaml")
	require.NoError(t, err)
	objs, err := render.Parse("boutique.yaml", data)
	require.NoError(t, err)
	require.Len(t, objs, 35)
	return objs
}

func TestBoutiquePasses(t *testing.T) {
	t.Parallel()
	c, err := manifestpolicy.New(manifestpolicy.Config{})
	require.NoError(t, err)
	res, err := c.Check(context.Background(), boutique(t))
	require.NoError(t, err)
	require.Empty(t, res.Findings, res.Text())
}

// BenchmarkCheck is every check over an Online-Boutique-sized release; the
// bar is 100 ms. The secret detector's rules are compiled once per process
// (about 100 ms): the first Check of a run pays for them.
func BenchmarkCheck(b *testing.B) {
	objs := boutique(b)
	c, err := manifestpolicy.New(manifestpolicy.Config{})
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Check(ctx, objs); err != nil {
			b.Fatal(err)
		}
	}
}
