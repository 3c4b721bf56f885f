package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// masks returns the values a run registered with the runner.
func masks(stdout string) []string {
	var out []string
	for _, l := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "::add-mask::"); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestEverySecretInputRegistered: every value of every secret input, of any
// kind (string, lines, YAML, a kubeconfig file, build secrets read from the
// environment), and every URL password, is registered with the runner and
// masked; plain settings are not.
func TestEverySecretInputRegistered(t *testing.T) {
	t.Parallel()
	kubeconfig := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://k.example"}}]
users: [{name: u, user: {token: tok-kubeconfig-file-1}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600))
	env := map[string]string{
		"GITHUB_ACTIONS":            "true",
		"NPM_TOKEN":                 "npm-secret-from-env-1",
		"INPUT_STAGES":              "build",
		"INPUT_BASE":                "scratch",
		"INPUT_USERNAME":            "ci",
		"INPUT_PASSWORD":            "registry%pass\r1",
		"INPUT_SMOKE-SECRETS":       "API_TOKEN=smoke-secret-1\nDSN=host=db,password=smoke-secret-2",
		"INPUT_SMOKE-ENV":           "PORT=8000\nDATABASE_URL=postgresql://shop:url-pass-1@db/shop",
		"INPUT_SERVICES":            "db:\n  image: postgres:17\n  env: {POSTGRES_USER: shop}\n  secrets: {POSTGRES_PASSWORD: service-secret-1}\n",
		"INPUT_HELM-SET":            "replicas=3",
		"INPUT_HELM-SET-SECRETS":    "db.password=helm-secret-1,with-comma",
		"INPUT_KUBECONFIG-FILE":     kubeconfig,
		"INPUT_GITHUB-TOKEN":        "ghs_token000000000000",
		"INPUT_BUILD-SECRETS":       "id=npm,env=NPM_TOKEN",
		"INPUT_TEST-TIMEOUT":        "30s",
		"INPUT_REQUIRED-LABELS":     "a",
		"INPUT_INSECURE-REGISTRIES": "",
	}
	r := execute(t, env, "run")
	got := masks(r.stdout)
	for _, want := range []string{
		"registry%25pass%0D1", // escaped for the runner
		"smoke-secret-1", "host=db,password=smoke-secret-2", "url-pass-1", "service-secret-1",
		"helm-secret-1,with-comma", "tok-kubeconfig-file-1", "ghs_token000000000000", "npm-secret-from-env-1",
	} {
		assert.Contains(t, got, want)
	}
	for _, plain := range []string{"8000", "shop", "3", "postgres:17", "ci"} {
		assert.NotContains(t, got, plain, "plain settings are never masked")
	}
	// The build secret is for Dockerfile builds: this daemonless one refuses
	// it, naming the input, after it was registered.
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, `input "build-secrets" is for Dockerfile builds`)
}

func TestShortSecretRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ input, value, want string }{
		{"SMOKE-SECRETS", "PW=q7z", `input "smoke-secrets": the value of PW is shorter than 4 characters`},
		{"PASSWORD", "q7z", `input "password": its value is shorter than 4 characters`},
		{"SERVICES", "db: {image: pg, secrets: {POSTGRES_PASSWORD: q7z}}", `input "services": the value of db: POSTGRES_PASSWORD is shorter`},
		{"HELM-SET-SECRETS", "a.b=q7z", `input "helm-set-secrets": the value of a.b is shorter`},
	} {
		t.Run(tc.input, func(t *testing.T) {
			t.Parallel()
			r := execute(t, map[string]string{"INPUT_STAGES": "build", "INPUT_BASE": "scratch", "INPUT_" + tc.input: tc.value, "GITHUB_ACTIONS": "true"}, "run")
			assert.Equal(t, 1, r.code)
			assert.Contains(t, strings.ReplaceAll(r.stdout, `\"`, `"`), tc.want)
			assert.NotContains(t, r.all(), "q7z", "a refused secret is not shown either")
		})
	}
}

// TestSecretNamesWarned: a plain setting named like a secret is a warning
// that says where it belongs; it is not masked.
func TestSecretNamesWarned(t *testing.T) {
	t.Parallel()
	r := execute(t, map[string]string{
		"GITHUB_ACTIONS": "true", "INPUT_STAGES": "build", "INPUT_BASE": "scratch",
		"INPUT_SMOKE-ENV":  "DB_PASSWORD=plain-but-named-1\nPORT=8000",
		"INPUT_SERVICES":   "db: {image: pg, env: {POSTGRES_PASSWORD: plain-2}}",
		"INPUT_HELM-SET":   "db.password=plain-3,replicas=3",
		"INPUT_BUILD-ARGS": "NPM_TOKEN=plain-4",
	}, "run")
	out := strings.ReplaceAll(r.stdout, "%0A", "\n")
	assert.Contains(t, out, "::warning::`DB_PASSWORD` in input \"smoke-env\" looks like a secret: move it to `smoke-secrets`")
	assert.Contains(t, out, "`POSTGRES_PASSWORD` in the env of service \"db\" looks like a secret: move it to `secrets:` of service `db`")
	assert.Contains(t, out, "`db.password` in input \"helm-set\" looks like a secret: move it to `helm-set-secrets`")
	assert.Contains(t, out, "build arg `NPM_TOKEN` looks like a secret")
	assert.NotContains(t, out, "PORT")
	assert.NotContains(t, masks(r.stdout), "plain-but-named-1", "a guess never masks")
}

// TestEarlyInputErrors: a bad "junit" path and a too-long "field-manager"
// fail before anything is built, pushed or applied.
func TestEarlyInputErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"junit in a missing directory", []string{"test", "--from", "oci:" + dir, "--junit", filepath.Join(dir, "no", "such", "r.xml")},
			`input "junit": the directory ` + filepath.Join(dir, "no", "such") + ` of`},
		{"junit a directory", []string{"test", "--from", "oci:" + dir, "--junit", dir}, `input "junit": ` + dir + ` is a directory`},
		{"request timeout", []string{"rollout", "--manifests", dir, "--request-timeout", "soon"}, `input "request-timeout": "soon" is not a positive duration`},
		{"field manager too long", []string{"rollout", "--manifests", dir, "--field-manager", strings.Repeat("m", 129)}, `input "field-manager"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := execute(t, map[string]string{}, tc.args...)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, tc.want)
			assert.NotContains(t, r.stdout, "==> ", "nothing ran")
		})
	}
}
