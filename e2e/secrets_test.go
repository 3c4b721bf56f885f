package e2e

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/internal/testimage"
)

// TestSecretsNeverShown runs the action's build and test stages through the
// CLI, as a workflow does, against the Docker engine: a BuildKit step that
// reads its build secret, then a smoke run whose app prints its whole
// environment and never becomes ready, so that its logs land in the log, the
// job summary and the JUnit file. A secret-bearing value of every secret
// input reaches the app (or the build); none appears in any output, summary or
// JUnit file, while the plain settings beside them do.
func TestSecretsNeverShown(t *testing.T) {
	host := testenv.DockerHost(t)
	_, err := os.Stat(debianDocker)
	testenv.Require(t, err == nil, "the Debian docker client "+debianDocker, "run `make setup` (hack/setup.sh) to install docker.io")
	suffix := randomHex(t, 6)
	secret := func(name string) string { return name + "-" + suffix + `-"&<s3cr3t>` }
	// One value for each secret input, of each kind.
	var (
		password     = secret("registry-password")
		githubToken  = "ghs_" + suffix + "000000000000000000"
		kubeToken    = secret("kubeconfig-token")
		kubeFileTok  = secret("kubeconfig-file-token")
		helmSecret   = secret("helm-secret") + ",with,commas"
		buildSecret  = secret("build-secret")
		smokeSecret  = secret("smoke-secret")
		serviceSec   = secret("service-secret")
		urlPassword  = "url-pass-" + suffix
		plainSetting = "plain-setting-" + suffix
	)

	ws := t.TempDir()
	if os.Geteuid() == 0 {
		// As on a runner: the workspace is the runner user's, the action root.
		require.NoError(t, os.Chown(ws, 1001, 1001))
	}
	ctxDir := filepath.Join(ws, "app")
	require.NoError(t, os.MkdirAll(ctxDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "server"), testimage.ServerBinary(t), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(`FROM debian:trixie-slim
RUN --mount=type=secret,id=npm test -s /run/secrets/npm
COPY server /server
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/server"]
CMD ["serve"]
`), 0o644))
	kubeFile := filepath.Join(ws, "kubeconfig")
	require.NoError(t, os.WriteFile(kubeFile, []byte(kubeconfigWithToken(kubeFileTok)), 0o600))
	outFile, sumFile := filepath.Join(ws, "github-output"), filepath.Join(ws, "summary.md")
	for _, f := range []string{outFile, sumFile} {
		require.NoError(t, os.WriteFile(f, nil, 0o644))
	}
	junit := filepath.Join(ws, "image-tests.xml")

	// The app prints every variable it gets: the secrets of each input are
	// handed to it, some as plain settings (a value registered as a secret
	// anywhere is masked everywhere).
	vars := map[string]string{
		"PASSWORD_COPY": password, "TOKEN_COPY": githubToken, "KUBE_COPY": kubeToken, "KUBE_FILE_COPY": kubeFileTok,
		"HELM_COPY": helmSecret, "BUILD_COPY": buildSecret, "SERVICE_COPY": serviceSec,
	}
	var smokeEnv []string
	names := []string{"API_TOKEN", "DATABASE_URL", "PLAIN"}
	for k, v := range vars {
		smokeEnv = append(smokeEnv, k+"="+v)
		names = append(names, k)
	}
	smokeEnv = append(smokeEnv, "PLAIN="+plainSetting, "NEVER_READY=1", "PRINT_ENV="+strings.Join(names, ","),
		"DATABASE_URL=postgresql://shop:"+urlPassword+"@db:5432/shop")

	env := append(githubEnv(),
		"DOCKER_HOST="+host,
		"GITHUB_ACTIONS=true",
		"GITHUB_WORKSPACE="+ws,
		"GITHUB_OUTPUT="+outFile,
		"GITHUB_STEP_SUMMARY="+sumFile,
		"NPM_TOKEN="+buildSecret,
		"INPUT_STAGES=build,test",
		"INPUT_CONTEXT="+ctxDir,
		"INPUT_USERNAME=ci",
		"INPUT_PASSWORD="+password,
		"INPUT_GITHUB-TOKEN="+githubToken,
		"INPUT_KUBECONFIG="+kubeconfigWithToken(kubeToken),
		"INPUT_KUBECONFIG-FILE="+kubeFile,
		"INPUT_HELM-SET-SECRETS=db.password="+helmSecret,
		"INPUT_BUILD-SECRETS=id=npm,env=NPM_TOKEN",
		"INPUT_SMOKE=true",
		"INPUT_SMOKE-ENV="+strings.Join(smokeEnv, "\n"),
		"INPUT_SMOKE-SECRETS=API_TOKEN="+smokeSecret,
		"INPUT_SERVICES=db:\n  image: debian:trixie-slim\n  command: [sleep, '120']\n  secrets:\n    POSTGRES_PASSWORD: '"+strings.ReplaceAll(serviceSec, "'", "''")+"'\n",
		"INPUT_READY-PATH=/ready",
		"INPUT_READY-PORT=8080",
		"INPUT_TEST-TIMEOUT=20s",
		"INPUT_GRACE-PERIOD=2s",
		"INPUT_TEST-POLICY=labels=off,size=off",
		"INPUT_JUNIT="+junit,
	)
	out, code := testenv.Run(t, env, "run")
	t.Logf("exit %d:\n%s", code, tail(out, 80))
	assert.Equal(t, 1, code, "the app never becomes ready: the test stage fails")

	read := func(p string) string {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return string(b)
	}
	files := map[string]string{"log": out, "outputs": read(outFile), "summary": read(sumFile), "junit": read(junit)}
	assert.Contains(t, files["log"], "RUN --mount=type=secret,id=npm test -s /run/secrets/npm", "the build step read its secret (it fails without)")
	for _, where := range []string{"summary", "junit"} {
		assert.Contains(t, files[where], "config: API_TOKEN=***", "%s: the app's logs are shown, masked", where)
		assert.Contains(t, files[where], "config: PLAIN="+plainSetting, "%s: plain settings are shown", where)
		assert.Contains(t, files[where], "postgresql://shop:***@db:5432/shop", "%s: a URL's password is masked", where)
	}
	secrets := map[string]string{"password": password, "github-token": githubToken, "kubeconfig": kubeToken,
		"kubeconfig-file": kubeFileTok, "helm-set-secrets": helmSecret, "build-secrets": buildSecret,
		"smoke-secrets": smokeSecret, "services": serviceSec, "URL password": urlPassword}
	for where, text := range files {
		for input, s := range secrets {
			// Any recognisable part of it, in the forms files encode it.
			for _, form := range []string{s, strings.SplitN(s, `-"`, 2)[0] + `-"`, xmlEscape(s)} {
				if where == "log" {
					text = stripAddMask(text)
				}
				assert.NotContains(t, text, form, "%s shows the value of %s", where, input)
			}
		}
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(junit)
		require.NoError(t, err)
		wfi, err := os.Stat(ws)
		require.NoError(t, err)
		assert.Equal(t, ownerOf(wfi), ownerOf(fi), "the JUnit file belongs to the workspace's owner")
	}
}

func kubeconfigWithToken(token string) string {
	return `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://kube.example:6443"}}]
users: [{name: u, user: {token: '` + strings.ReplaceAll(token, "'", "''") + `'}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// stripAddMask drops the commands that register secrets with the runner: the
// runner reads them and never shows them.
func stripAddMask(log string) string {
	var keep []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func ownerOf(fi os.FileInfo) uint32 { return fi.Sys().(*syscall.Stat_t).Uid }
