package generate

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/detect"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/golden/<name>, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "no golden file; run go test ./pkg/generate -update")
	assert.Equal(t, string(want), string(got), "%s differs from its golden file (review, then -update)", p)
}

type genCase struct {
	name   string
	repo   func(root string) detect.Repository
	over   Overrides
	config string
}

// checkGenerated runs every check on a generation: actionlint, the
// structural rules, determinism, and the golden files.
func checkGenerated(t *testing.T, name string, repo detect.Repository, lc *LoadedConfig, over Overrides) {
	t.Helper()
	res, err := Generate(context.Background(), repo, lc, over, WithActionPin(testPin))
	require.NoError(t, err)
	assert.Empty(t, res.Findings, "audit and actionlint findings")
	inputs := actionInputs(t)
	files := map[string][]byte{}
	for _, f := range res.Files {
		files[f.Path] = f.Data
	}
	wf := files[res.Plan.WorkflowPath]
	require.NotNil(t, wf)
	checkWorkflow(t, wf, inputs)
	auditWorkflow(t, res.Plan.WorkflowPath, wf)
	golden(t, name+"/deploy.yml", wf)
	golden(t, name+"/dependabot.yml", files[".github/dependabot.yml"])
	if c, ok := files[ConfigPath]; ok {
		golden(t, name+"/deploy-action.yaml", c)
	}
	var ex bytes.Buffer
	require.NoError(t, Explain(&ex, repo, res))
	golden(t, name+"/explain.txt", ex.Bytes())

	// Same inputs, same bytes.
	again, err := Generate(context.Background(), repo, lc, over, WithActionPin(testPin))
	require.NoError(t, err)
	require.Equal(t, len(res.Files), len(again.Files))
	for i := range res.Files {
		assert.Equal(t, string(res.Files[i].Data), string(again.Files[i].Data), res.Files[i].Path)
	}
}

func TestGoldenHandMade(t *testing.T) {
	t.Parallel()
	cases := []genCase{
		{name: "hand/shop", repo: shopRepo},
		{name: "hand/three-services", repo: threeRepo},
		{name: "hand/shop-ghcr", repo: shopRepo, over: Overrides{Registry: "ghcr.io", Namespace: "acme", Environments: []string{"qa", "staging", "production"}, Cluster: "prod-eu"}},
		{name: "hand/shop-config", repo: shopRepo, config: `registry: registry.example.com
namespace: shop-team
service-images:
  postgresql: registry.example.com/mirror/postgres:17@sha256:d74eeac9a635390a49bc21bd49fccd973de707e2a53a76ac49b552b8712ec46f
service-ports:
  postgresql: 15432
environments:
  - name: production
    kubeconfig-secret: PROD_KUBECONFIG
    namespace: shop
services:
  - name: shop
    test-command: pytest -q tests
    manifests: e2e/testdata/shop/k8s
inputs:
  release:
    insecure-registries: registry.internal:5000
  deploy:
    create-namespace: "true"
    rollout-timeout: 10m
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lc *LoadedConfig
			if tc.config != "" {
				var err error
				lc, err = ReadConfig(bytes.NewReader([]byte(tc.config)), ConfigPath)
				require.NoError(t, err)
			}
			checkGenerated(t, tc.name, tc.repo(t.TempDir()), lc, tc.over)
		})
	}
}

// fixtures are the repositories under e2e/testdata the generator is held to.
var fixtures = map[string]string{
	"shop":            "../../e2e/testdata/shop",
	"flask-src":       "../../e2e/testdata/repos/flask-src",
	"fastapi-asyncpg": "../../e2e/testdata/repos/fastapi-asyncpg",
	"django":          "../../e2e/testdata/repos/django",
	"go-service":      "../../e2e/testdata/repos/go-service",
	"node-service":    "../../e2e/testdata/repos/node-service",
	"java-maven":      "../../e2e/testdata/repos/java-maven",
	"helm-chart":      "../../e2e/testdata/repos/helm-chart",
	"three-services":  "../../e2e/testdata/repos/three-services",
}

// TestGoldenFixtures generates the workflow of every fixture repository, as
// detected, and holds it to actionlint, the audit, the structural rules and
// its golden files.
func TestGoldenFixtures(t *testing.T) {
	t.Parallel()
	for name, dir := range fixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root, err := filepath.Abs(dir)
			require.NoError(t, err)
			repo, err := detect.Detect(context.Background(), root)
			require.NoError(t, err)
			checkGenerated(t, name, repo, nil, Overrides{})
		})
	}
}
