package render

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/golden/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run: go test ./pkg/render -run %s -update", t.Name())
	assert.Equal(t, string(want), string(got), "golden file %s differs; if the change is intended, run with -update and review the diff", path)
}

// describe is the golden text of a render: where each object came from, then
// the YAML stream.
func describe(t *testing.T, objects []Object) []byte {
	t.Helper()
	var b strings.Builder
	for _, o := range objects {
		b.WriteString("# " + o.ID() + " <- " + o.Source + "\n")
	}
	out, err := Encode(objects)
	require.NoError(t, err)
	b.WriteString("# ---- stream ----\n")
	b.Write(out)
	return []byte(b.String())
}

const shop = "../../e2e/testdata/shop"

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec Spec
		opts []Option
	}{
		{name: "plain-dir", spec: Spec{Paths: []string{"testdata/plain"}}},
		{name: "plain-glob", spec: Spec{Paths: []string{"testdata/plain/*.yaml", "testdata/plain/sub/list.yaml"}}},
		{name: "kustomize", spec: Spec{Paths: []string{"testdata/kustomize/overlay"}}},
		{name: "helm", spec: Spec{Paths: []string{"testdata/chart"}, ReleaseName: "api-prod", Namespace: "prod",
			ValuesFiles: []string{"testdata/chart/values-prod.yaml"}, Values: []string{"image=ghcr.io/acme/api:2.1"}},
			opts: []Option{WithKubeVersion("v1.31.4")}},
		{name: "helm-defaults", spec: Spec{Paths: []string{"testdata/chart"}}},
		{name: "shop-k8s", spec: Spec{Paths: []string{shop + "/k8s"}}},
		{name: "shop-kustomize", spec: Spec{Paths: []string{shop + "/kustomize"}}, opts: []Option{WithRoot(shop)}},
		{name: "shop-chart", spec: Spec{Paths: []string{shop + "/chart"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			objects, err := Render(context.Background(), tc.spec, tc.opts...)
			require.NoError(t, err)
			got := describe(t, objects)
			golden(t, tc.name+".yaml", got)

			// Same inputs, same bytes.
			again, err := Render(context.Background(), tc.spec, tc.opts...)
			require.NoError(t, err)
			assert.Equal(t, string(got), string(describe(t, again)))

			// What Encode writes reads back as the same objects.
			stream, err := Encode(objects)
			require.NoError(t, err)
			back, err := Parse("stream", stream)
			require.NoError(t, err)
			require.Len(t, back, len(objects))
			for i := range objects {
				assert.Equal(t, objects[i].ID(), back[i].ID())
			}
		})
	}
}
