package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// TestActionContainer runs the action the way GitHub runs a Docker action: the
// action image (scratch and the static binary, as the Dockerfile's "action"
// stage) with the engine's socket and the workspace mounted, inputs as INPUT_*
// variables, and the runner's output and summary files. Inside, the binary
// drives the host's BuildKit to build the shop, pushes it, and deploys it to
// the test control plane with a kubeconfig given as a secret input, whose
// credentials must show nowhere.
func TestActionContainer(t *testing.T) {
	requireImage(t, "debian:trixie-slim")
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	// The kubeconfig as a CI secret holds it: one self-contained file.
	kubeconfig, stderr, err := c.Kubectl(t, "", "config", "view", "--flatten", "--minify")
	require.NoError(t, err, stderr)
	clientKey := regexp.MustCompile(`client-key-data: (\S+)`).FindStringSubmatch(kubeconfig)
	require.NotNil(t, clientKey, "the test kubeconfig carries a client key")
	docker := testenv.LookPath(t, "docker")
	reg := testenv.Registry(t)
	bin := testenv.Binary(t)

	// The action image, built and pushed by deploy-action itself.
	layout := filepath.Join(t.TempDir(), "action")
	tmp := filepath.Join(t.TempDir(), "tmp") // the image's /tmp: the read-back of a build spools layers there
	require.NoError(t, os.Mkdir(tmp, 0o755))
	require.NoError(t, os.Chmod(tmp, 0o777|os.ModeSticky))
	out, code := testenv.Run(t, nil, "build", "--base", "scratch",
		"--layers", tmp+":/tmp",
		"--layers", bin+":/usr/local/bin/deploy-action,mode=0755",
		"--layers", "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt,mode=0644",
		"--entrypoint", "/usr/local/bin/deploy-action", "--output", layout)
	require.Equal(t, 0, code, out)
	actionImage := reg.Repo("deploy-action") + ":e2e"
	out, code = testenv.Run(t, nil, "push", "--from", "oci:"+layout, "--images", reg.Repo("deploy-action"), "--raw-tags", "e2e", "--tags", "")
	require.Equal(t, 0, code, out)
	run(t, docker, "pull", "-q", actionImage)
	t.Cleanup(func() { _ = exec.Command(docker, "rmi", "-f", actionImage).Run() })

	// The runner's side: a workspace with the repository, and the file-command files.
	ws := t.TempDir()
	run(t, "cp", "-r", filepath.Join(testenv.RepoRoot(t), "e2e/testdata/shop")+"/.", ws)
	for _, f := range []string{"deployment.yaml", "job-migrate.yaml"} {
		p := filepath.Join(ws, "k8s", f)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(string(b), shopImage+":latest", reg.Repo("acme/shop")+":latest")), 0o644))
	}
	cmds := t.TempDir()
	for _, f := range []string{"output", "summary"} {
		require.NoError(t, os.WriteFile(filepath.Join(cmds, f), nil, 0o666))
	}
	const token = "ghs_e2eTokenThatMustNeverShow0001"
	args := []string{"run", "--rm", "--network", "host",
		"-v", "/var/run/docker.sock:/var/run/docker.sock",
		"-v", ws + ":/github/workspace", "-w", "/github/workspace",
		"-v", cmds + ":/github/file_commands",
		"-e", "GITHUB_ACTIONS=true", "-e", "GITHUB_WORKSPACE=/github/workspace",
		"-e", "GITHUB_OUTPUT=/github/file_commands/output",
		"-e", "GITHUB_STEP_SUMMARY=/github/file_commands/summary",
		"-e", "GITHUB_REPOSITORY=acme/shop", "-e", "GITHUB_SHA=4f2c9a1b7d3e5f60718293a4b5c6d7e8f9012345",
		"-e", "GITHUB_REF=refs/heads/main", "-e", "GITHUB_EVENT_NAME=push", "-e", "GITHUB_RUN_NUMBER=31",
		"-e", "INPUT_STAGES=auto", // build,test,push + deploy, as manifests is set
		"-e", "INPUT_MANIFESTS=kustomize", // its ../k8s is in the workspace, the default manifests-root
		"-e", "INPUT_NAMESPACE=" + ns,
		"-e", "INPUT_KUBECONFIG=" + kubeconfig,
		"-e", "INPUT_SMOKE=false",
		"-e", "INPUT_CONTEXT=.",
		"-e", "INPUT_IMAGES=" + reg.Repo("acme/shop"),
		"-e", "INPUT_VERSION=1.0.0",
		"-e", "INPUT_TAGS=version,latest,run",
		"-e", "INPUT_GITHUB-TOKEN=" + token,
		actionImage, "run"}
	cmd := exec.Command(docker, args...)
	b, err := cmd.CombinedOutput()
	log := string(b)
	require.NoError(t, err, log)
	assert.Contains(t, log, "::group::build")
	assert.Contains(t, log, "::group::push")
	assert.Contains(t, log, "::group::deploy")
	assert.Equal(t, 1, strings.Count(log, token), "the token shows only in the add-mask command:\n%s", log)
	assert.Equal(t, 1, strings.Count(log, clientKey[1]), "the client key shows only in the add-mask command")
	assert.Contains(t, log, "::add-mask::"+clientKey[1]+"\n")

	output, err := os.ReadFile(filepath.Join(cmds, "output"))
	require.NoError(t, err)
	m := regexpDigestOutput.FindStringSubmatch(string(output))
	require.NotNil(t, m, "no digest output in:\n%s", output)
	summary, err := os.ReadFile(filepath.Join(cmds, "summary"))
	require.NoError(t, err)
	assert.Contains(t, string(summary), "| `"+reg.Repo("acme/shop")+"` | pushed |")
	assert.Contains(t, string(output), "verdict<<")
	assert.Regexp(t, `verdict<<\S+\nsucceeded\n`, string(output))
	assert.Contains(t, string(summary), "| `deployment/shop` | "+ns+" | "+reg.Repo("acme/shop")+"@"+m[1]+" |")
	for _, f := range [][]byte{output, summary} {
		assert.NotContains(t, string(f), clientKey[1])
		assert.NotContains(t, string(f), "BEGIN")
	}
	assert.Equal(t, reg.Repo("acme/shop")+"@"+m[1], deployedImage(t, c, ns))

	for _, tag := range []string{"1.0.0", "latest", "v31"} {
		in := inspect(t, reg, reg.Repo("acme/shop")+":"+tag)
		assert.Equal(t, m[1], in.Digest, tag)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	b, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), b)
}
