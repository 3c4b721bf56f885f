package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/internal/testimage"
)

// TestTLSDockerHost runs the build and test stages (policy, structure tests
// with a command test, a smoke run) through the CLI against an engine that
// is reachable only with mutual TLS on a loopback port, as a remote engine
// with DOCKER_HOST=tcp://...:2376, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH
// is. Every stage must reach it through the one engine connection: the
// build's BuildKit session and the test's containers both go through the TLS
// listener, and with another CA's certificates the same run fails.
func TestTLSDockerHost(t *testing.T) {
	eng := testenv.StartTLSEngine(t)
	ws := t.TempDir()
	ctxDir := filepath.Join(ws, "app")
	require.NoError(t, os.MkdirAll(ctxDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "server"), testimage.ServerBinary(t), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(`FROM debian:trixie-slim
COPY server /server
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/server"]
CMD ["serve"]
`), 0o644))
	structureFile := filepath.Join(ws, "structure.yaml")
	require.NoError(t, os.WriteFile(structureFile, []byte(`schemaVersion: 2.0.0
fileExistenceTests:
  - name: the server
    path: /server
    isExecutableBy: any
commandTests:
  - name: the server runs in the image
    command: /server
    args: ["env", "HOME"]
    expectedOutput: ['^HOME=']
`), 0o644))

	junit := filepath.Join(ws, "image-tests.xml")
	run := func(env map[string]string) (string, int) {
		outFile, sumFile := filepath.Join(ws, "github-output"), filepath.Join(ws, "summary.md")
		for _, f := range []string{outFile, sumFile} {
			require.NoError(t, os.WriteFile(f, nil, 0o644))
		}
		vars := append(githubEnv(),
			"GITHUB_ACTIONS=true",
			"GITHUB_WORKSPACE="+ws,
			"GITHUB_OUTPUT="+outFile,
			"GITHUB_STEP_SUMMARY="+sumFile,
			"INPUT_JUNIT="+junit,
			"INPUT_STAGES=build,test",
			"INPUT_CONTEXT="+ctxDir,
			"INPUT_STRUCTURE-TESTS="+structureFile,
			"INPUT_SMOKE=true",
			"INPUT_READY-PATH=/ready",
			"INPUT_TEST-TIMEOUT=30s",
			"INPUT_GRACE-PERIOD=2s",
			"INPUT_TEST-POLICY=labels=off,size=off",
		)
		for k, v := range env {
			vars = append(vars, k+"="+v)
		}
		return testenv.Run(t, vars, "run")
	}

	out, code := run(eng.Env)
	t.Logf("exit %d:\n%s", code, tail(out, 60))
	require.Equal(t, 0, code, "build and test pass through the TLS engine")
	report, err := os.ReadFile(junit)
	require.NoError(t, err)
	assert.Contains(t, string(report), "the server runs in the image", "the structure's command test ran")
	assert.Contains(t, string(report), "image becomes ready", "the smoke run ran")
	assert.True(t, eng.Requested("/grpc"), "the build's BuildKit connection went through the TLS listener")
	assert.True(t, eng.Requested("/session"), "the build's session went through the TLS listener")
	assert.True(t, eng.Requested("/containers/create"), "the test's containers were made through the TLS listener")

	// The same run with certificates of another CA: the engine's certificate
	// is refused, so nothing reaches the engine by another way.
	other := t.TempDir()
	testenv.TLSCerts(t, other)
	bad := map[string]string{}
	for k, v := range eng.Env {
		bad[k] = v
	}
	bad["DOCKER_CERT_PATH"] = other
	out, code = run(bad)
	t.Logf("exit %d with another CA:\n%s", code, tail(out, 20))
	assert.NotEqual(t, 0, code)
	assert.True(t, strings.Contains(out, "certificate") || strings.Contains(out, "x509"), "the error names the certificate")
}
