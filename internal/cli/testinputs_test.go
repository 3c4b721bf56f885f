package cli

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

func getter(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestTestConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "tests"), 0o755))
	for _, n := range []string{"b.yaml", "a.yaml"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "tests", n), []byte("x"), 0o644))
	}
	cfg, err := testConfig(getter(map[string]string{
		"test-policy":     "size=fail, labels=off",
		"size-budget":     "300MB",
		"required-labels": "org.opencontainers.image.source\norg.opencontainers.image.version",
		"secrets-allow":   "/app/tests/**",
		"structure-tests": "tests/*.yaml",
		"services":        "db:\n  image: shop-postgres\n  secrets:\n    POSTGRES_PASSWORD: pw12\n",
		"smoke-env":       "DATABASE_URL=postgresql://shop:pw@db/shop\n# comment\n",
		"smoke-secrets":   "API_TOKEN=tok-1234\n",
		"ready-path":      "/readyz",
		"ready-port":      "8000",
		"test-command":    `python3 -m shop migrate --wait 30`,
		"grace-period":    "5s",
		"test-timeout":    "90s",
	}), dir)
	require.NoError(t, err)
	assert.Equal(t, policy.Fail, cfg.Policy.Modes[policy.Size])
	assert.Equal(t, policy.Off, cfg.Policy.Modes[policy.Labels])
	assert.Equal(t, policy.Fail, cfg.Policy.Modes[policy.User], "unlisted checks keep their default")
	assert.Equal(t, int64(300_000_000), cfg.Policy.SizeBudget)
	assert.Equal(t, []string{"org.opencontainers.image.source", "org.opencontainers.image.version"}, cfg.Policy.RequiredLabels)
	assert.Equal(t, []string{filepath.Join(dir, "tests/a.yaml"), filepath.Join(dir, "tests/b.yaml")}, cfg.StructureTests)
	assert.Equal(t, imagetest.SmokeAuto, cfg.SmokeMode)
	assert.Equal(t, []smoke.Service{{Name: "db", Image: "shop-postgres", Secrets: map[string]string{"POSTGRES_PASSWORD": "pw12"}}}, cfg.Smoke.Services)
	assert.Equal(t, map[string]string{"DATABASE_URL": "postgresql://shop:pw@db/shop"}, cfg.Smoke.Env)
	assert.Equal(t, map[string]string{"API_TOKEN": "tok-1234"}, cfg.Smoke.Secrets)
	assert.Equal(t, []string{"python3", "-m", "shop", "migrate", "--wait", "30"}, cfg.Smoke.TestCommand)
	assert.Equal(t, 5*time.Second, cfg.Smoke.GracePeriod)
	assert.Equal(t, 90*time.Second, cfg.Smoke.Timeout)
}

func TestTestConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		input, value, want string
	}{
		{"test-policy", "user=maybe", `input "test-policy": mode "maybe" of "user" is unknown; use fail, warn or off`},
		{"test-policy", "root=fail", `input "test-policy": check "root" is unknown`},
		{"size-budget", "big", `input "size-budget": "big" is not a size`},
		{"structure-tests", "missing/*.yaml", `input "structure-tests":`},
		{"smoke", "sometimes", `input "smoke": "sometimes" is not true, false or auto`},
		{"services", "db: [postgres]", `input "services": line 1: service "db": expected its settings`},
		{"services", "db:\n  image: x\n  ports: [5432]\n", `input "services": line 3: service "db": unknown field "ports"`},
		{"smoke-env", "A=1\nnot a pair\n", `input "smoke-env": line 2 is not NAME=value`},
		{"smoke-secrets", "A=1234\nnot a pair\n", `input "smoke-secrets": line 2 is not NAME=value`},
		{"test-command", `pytest "unclosed`, `input "test-command"`},
		{"test-command", `["pytest", 1]`, `input "test-command"`},
		{"grace-period", "ten", `input "grace-period": "ten" is not a positive duration`},
		{"test-timeout", "-1s", `input "test-timeout"`},
	} {
		t.Run(tc.input+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := testConfig(getter(map[string]string{tc.input: tc.value}), t.TempDir())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSmokeEnvErrorHidesTheLine(t *testing.T) {
	t.Parallel()
	_, err := testConfig(getter(map[string]string{"smoke-env": "hunter2-secret-value"}), t.TempDir())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2", "a malformed line may be a secret: it is named, never quoted")
}

func TestTestInputsTable(t *testing.T) {
	t.Parallel()
	names := groupInputs("test")
	require.NotEmpty(t, names)
	// Every input of the test stage is read by testConfig or by the caller (junit).
	read := map[string]bool{}
	_, _ = testConfig(func(k string) string { read[k] = true; return "" }, t.TempDir())
	for _, n := range names {
		if n != "junit" {
			assert.True(t, read[n], "input %s is not read", n)
		}
	}
	for n := range read {
		assert.Contains(t, names, n, "testConfig reads %s, which is not a test input", n)
	}
}
