package e2e

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
)

// TestReleaseTestedShop is `run --stages build,test,push` on the shop: built
// through BuildKit, checked (policy, structure tests, a smoke run against a real
// PostgreSQL), and pushed only because every check passed. The same run on the
// shop variant that runs as root stops at the test stage and pushes nothing.
func TestReleaseTestedShop(t *testing.T) {
	ctx := context.Background()
	requireImage(t, "debian:trixie-slim")
	im := buildImagetestImages(ctx, t, "pipeline", false)
	reg := testenv.Registry(t)
	const password = "pg-e2e-Secret-77"

	services := fmt.Sprintf("db:\n  image: %s\n  env:\n    POSTGRES_USER: shop\n    POSTGRES_DB: shop\n  secrets:\n    POSTGRES_PASSWORD: %s\n", im.postgres, password)
	testArgs := func(context string, extra ...string) []string {
		return append([]string{"run", "--stages", "build,test,push",
			"--context", context,
			"--images", reg.Repo("acme/" + filepath.Base(context)),
			"--version", "1.0.0", "--tags", "version,latest",
			"--services", services,
			"--smoke-env", "WEB_CONCURRENCY=1",
			"--smoke-secrets", "DATABASE_URL=postgresql://shop:" + password + "@db:5432/shop",
			"--ready-path", "/readyz",
			"--test-command", `["sh", "-c", "python3 -m shop migrate --wait 30"]`,
			"--structure-tests", "e2e/testdata/imagetest/shop.yaml",
			"--grace-period", "5s",
		}, extra...)
	}

	junit := filepath.Join(t.TempDir(), "report.xml")
	out, code := testenv.Run(t, githubEnv(), testArgs("e2e/testdata/shop", "--junit", junit)...)
	require.Equal(t, 0, code, out)
	assert.NotContains(t, out, password)
	assert.Contains(t, out, "test-result=passed")
	m := digestLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	for _, tag := range []string{"1.0.0", "latest"} {
		assert.Equal(t, m[1], inspect(t, reg, reg.Repo("acme/shop")+":"+tag).Digest)
	}
	b, err := os.ReadFile(junit)
	require.NoError(t, err)
	var suites struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(b, &suites), string(b))
	names := map[string]int{}
	for _, s := range suites.Suites {
		assert.Zero(t, s.Failures, s.Name)
		names[s.Name] = len(s.Cases)
	}
	for _, s := range []string{"policy", "structure", "smoke"} {
		assert.Positive(t, names[s], "suite %s has cases: %s", s, b)
	}

	// The root variant fails the "user" check: the run says so and pushes nothing.
	out, code = testenv.Run(t, githubEnv(), testArgs("e2e/testdata/shop-root", "--build-args", "SHOP_IMAGE="+im.shop)...)
	assert.NotEqual(t, 0, code, out)
	assert.Contains(t, out, "test-result=failed")
	assert.Contains(t, out, "nothing was pushed")
	assert.Contains(t, strings.ToLower(out), "root")
	assert.NotContains(t, out, password)
	skopeo := testenv.LookPath(t, "skopeo")
	err = exec.Command(skopeo, append(append([]string{"inspect"}, reg.SkopeoFlags()...), "docker://"+reg.Repo("acme/shop-root")+":latest")...).Run()
	assert.Error(t, err, "a failed test must leave no tag")
}
