package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// actTool returns what e2e/act/<script> -n prints: the path of the cached act
// binary, or the name of the runner image. Neither is made here (minutes the
// first time): `make act` does, and CI runs it before the end-to-end tests.
func actTool(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.RepoRoot(t), "e2e", "act", script), "-n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	testenv.Require(t, err == nil, "e2e/act/"+script+" ("+strings.TrimSpace(stderr.String())+")",
		"run `make act`, which builds act and makes its runner image")
	return strings.TrimSpace(string(out))
}

// actionUses is a `uses:` of a remote action: owner/repo[/path]@ref.
var actionUses = regexp.MustCompile(`^([^/@\s]+)/([^/@\s]+)(/[^@\s]*)?@(\S+)$`)

// workflowUses lists the remote actions a workflow's steps use, sorted, each once.
func workflowUses(t *testing.T, workflow []byte) []string {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string `yaml:"uses"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(workflow, &wf))
	seen := map[string]bool{}
	var uses []string
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if s.Uses == "" || strings.HasPrefix(s.Uses, "./") || strings.HasPrefix(s.Uses, "docker://") || seen[s.Uses] {
				continue
			}
			seen[s.Uses] = true
			uses = append(uses, s.Uses)
		}
	}
	sort.Strings(uses)
	return uses
}

// localAction prepares, for act's --local-repository, the directory that
// stands in for one remote action, and reports whether act needs one:
// actions/checkout is skipped by act itself (the workspace already is the
// repository), third-party setup actions get the offline stand-ins under
// testdata/act/actions, and deploy-action is this checkout's action.yml running
// actionImage, an image built from this checkout.
func localAction(t *testing.T, uses, actionImage string) (dir string, mapped bool) {
	t.Helper()
	m := actionUses.FindStringSubmatch(uses)
	require.NotNil(t, m, "uses: %q is no owner/repo@ref", uses)
	owner, repo := m[1], m[2]
	require.Regexp(t, `^[0-9a-f]{40}$`, m[4], "uses: %s is not pinned by commit", uses)
	switch {
	case owner == "actions" && repo == "checkout":
		return "", false
	case repo == "deploy-action":
		dir := filepath.Join(t.TempDir(), "deploy-action")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		orig, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "action.yml"))
		require.NoError(t, err)
		// The published action builds its image from the Dockerfile, whose Go
		// stage needs a registry; the copy runs the same program, built here.
		const built = "  image: Dockerfile\n"
		require.Equal(t, 1, strings.Count(string(orig), built), "action.yml runs its Dockerfile")
		local := strings.Replace(string(orig), built, "  image: docker://"+actionImage+"\n", 1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "action.yml"), []byte(local), 0o644))
		return dir, true
	case owner == "actions":
		dir := filepath.Join(testenv.RepoRoot(t), "e2e", "testdata", "act", "actions", repo)
		_, err := os.Stat(filepath.Join(dir, "action.yml"))
		require.NoError(t, err, "the workflow uses %s, which has no offline stand-in under testdata/act/actions", uses)
		return dir, true
	}
	t.Fatalf("the workflow uses %s, which cannot run offline: add a stand-in under testdata/act/actions", uses)
	return "", false
}

// gitRepo makes dir a git repository on main whose origin is acme/shop
// (step "init"), or commits everything in it and returns the commit (step
// "commit"): act reads the commit, the branch and the repository from it.
func gitRepo(t *testing.T, dir, step string) string {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=shop", "GIT_AUTHOR_EMAIL=shop@example.com",
			"GIT_COMMITTER_NAME=shop", "GIT_COMMITTER_EMAIL=shop@example.com",
			"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
		return strings.TrimSpace(string(out))
	}
	if step == "init" {
		git("init", "-q", "-b", "main")
		git("remote", "add", "origin", "https://github.com/acme/shop.git")
		return ""
	}
	git("add", "-A")
	git("commit", "-q", "-m", "shop")
	return git("rev-parse", "HEAD")
}

// TestGeneratedWorkflowRunsUnderAct runs the shop's delivery workflow the way
// GitHub would on a push to main, with act in a runner image made here: the test
// job runs the shop's tests against a PostgreSQL service, the release job builds,
// tests and pushes the image with deploy-action (this checkout's action image),
// and the staging job deploys what the release job pushed, its refs output as
// the image-map, to the test control plane. The workflow is the one `deploy-action
// generate` writes for the shop; the test only sets values of its config file
// (local registries, the staging namespace). Registry password and kubeconfig go
// in as secrets and must show nowhere in act's output.
func TestGeneratedWorkflowRunsUnderAct(t *testing.T) {
	requireImage(t, "debian:trixie-slim")
	act := actTool(t, "build.sh")
	runner := actTool(t, "runner-image.sh")
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	kubeconfig, stderr, err := c.Kubectl(t, "", "config", "view", "--flatten", "--minify")
	require.NoError(t, err, stderr)
	clientKey := regexp.MustCompile(`client-key-data: (\S+)`).FindStringSubmatch(kubeconfig)
	require.NotNil(t, clientKey, "the test kubeconfig carries a client key")

	// Two registries: one that anyone may pull from, for the images the workflow
	// names (PostgreSQL, the action), as a public registry would hold them; and
	// the shop's, which takes a password.
	const registryPassword = "Reg1stry-p4ss-act-e2e"
	public := testenv.Registry(t)
	private := testenv.Registry(t, testenv.WithHtpasswd("ci", registryPassword))

	// PostgreSQL, pinned by digest as the workflow must pin service images.
	out, code := testenv.Run(t, nil, "run", "--stages", "build,push", "--context", "e2e/testdata/postgres",
		"--images", public.Repo("library/postgres"), "--raw-tags", "17", "--tags", "")
	require.Equal(t, 0, code, out)
	m := digestLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	postgres := public.Repo("library/postgres") + ":17@" + m[1]

	// The action image, scratch and the static binary, as `make action-image` makes it.
	bin := testenv.Binary(t)
	layout := filepath.Join(t.TempDir(), "action")
	tmp := filepath.Join(t.TempDir(), "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o755))
	require.NoError(t, os.Chmod(tmp, 0o777|os.ModeSticky))
	out, code = testenv.Run(t, nil, "build", "--base", "scratch",
		"--layers", tmp+":/tmp",
		"--layers", bin+":/usr/local/bin/deploy-action,mode=0755",
		"--layers", "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt,mode=0644",
		"--entrypoint", "/usr/local/bin/deploy-action", "--output", layout)
	require.Equal(t, 0, code, out)
	out, code = testenv.Run(t, nil, "push", "--from", "oci:"+layout, "--images", public.Repo("deploy-action/action"),
		"--raw-tags", "act", "--tags", "")
	require.Equal(t, 0, code, out)
	m = digestLine.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	actionImage := public.Repo("deploy-action/action") + "@" + m[1]
	t.Cleanup(func() { _ = exec.Command(debianDocker, "rmi", "-f", actionImage, postgres).Run() })

	// The repository: the shop (under its own name, which names its image), its
	// manifests naming the registry it is pushed to, and the generator's config:
	// the local registries, the staging namespace, deploy-action pinned to this
	// commit. The workflow is the generator's, as it writes it.
	shopRepo := private.Repo("acme/shop")
	repo := filepath.Join(t.TempDir(), "shop")
	require.NoError(t, os.CopyFS(repo, os.DirFS(filepath.Join(testenv.RepoRoot(t), "e2e", "testdata", "shop"))))
	for _, f := range []string{"deployment.yaml", "job-migrate.yaml"} {
		p := filepath.Join(repo, "k8s", f)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Contains(t, string(b), shopImage+":latest")
		require.NoError(t, os.WriteFile(p, []byte(strings.ReplaceAll(string(b), shopImage+":latest", shopRepo+":latest")), 0o644))
	}
	head, err := exec.Command("git", "-C", testenv.RepoRoot(t), "rev-parse", "HEAD").Output()
	require.NoError(t, err)
	// The test job publishes PostgreSQL on a free port of this machine, not on
	// 5432, which another test's database may hold.
	pgPort := freeTCPPort(t)
	config := fmt.Sprintf(`registry: %s
namespace: acme
service-images:
  postgresql: %s
service-ports:
  postgresql: %d
environments:
  - name: staging
    trigger: push
    namespace: %s
  - name: production
    trigger: tag
action:
  repository: deploy-action/deploy-action
  version: v1.0.0
  sha: %s
`, private.Host, postgres, pgPort, ns, strings.TrimSpace(string(head)))
	require.NoError(t, os.MkdirAll(filepath.Join(repo, ".github"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, ".github", "deploy-action.yaml"), []byte(config), 0o644))
	gitRepo(t, repo, "init")
	out, code = testenv.Run(t, nil, "generate", repo)
	require.Equal(t, 0, code, out)
	workflow := filepath.Join(repo, ".github", "workflows", "deploy.yml")
	wf, err := os.ReadFile(workflow)
	require.NoError(t, err)
	for _, job := range []string{"test", "release", "deploy-staging"} {
		require.Contains(t, string(wf), "\n  "+job+":\n", "the generated workflow has job %s", job)
	}
	require.Contains(t, string(wf), fmt.Sprintf("- %d:5432\n", pgPort), "the test job publishes PostgreSQL on the configured port")
	sha := gitRepo(t, repo, "commit")

	// act's side: its home (no .actrc, caches), the push event, the secrets.
	home := t.TempDir()
	event := filepath.Join(home, "event.json")
	require.NoError(t, os.WriteFile(event, must(json.Marshal(map[string]any{
		"ref": "refs/heads/main", "after": sha, "before": strings.Repeat("0", 40),
		"repository": map[string]any{"full_name": "acme/shop", "name": "shop", "owner": map[string]any{"login": "acme"},
			"default_branch": "main"},
	})), 0o644))
	args := []string{"push", "--workflows", workflow, "--eventpath", event, "--defaultbranch", "main",
		"--platform", "ubuntu-latest=" + runner, "--pull=false", "--action-offline-mode",
		"--action-cache-path", filepath.Join(home, "actions"), "--no-cache-server",
		// Remove a failed job's containers and volumes too (act keeps them by default).
		"--rm",
		// Jobs run as on a hosted runner: services are reached on localhost through
		// their published ports, and the action container reaches the registries and
		// the API server on the host's loopback.
		"--container-options", "--network host",
		// The generated workflow's names: the registry user is a variable, the
		// password and the staging kubeconfig are secrets, all read from act's
		// environment, so that no value is on its command line.
		"--var", "REGISTRY_USERNAME", "--secret", "REGISTRY_PASSWORD", "--secret", "KUBECONFIG_STAGING",
	}
	for _, uses := range workflowUses(t, wf) {
		if dir, ok := localAction(t, uses, actionImage); ok {
			args = append(args, "--local-repository", uses+"="+dir)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, act, args...)
	cmd.Dir = repo
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"), "DOCKER_HOST=" + testenv.DockerHost(t),
		"REGISTRY_USERNAME=ci", "REGISTRY_PASSWORD=" + registryPassword, "KUBECONFIG_STAGING=" + kubeconfig}
	start := time.Now()
	b, err := cmd.CombinedOutput()
	log := string(b)
	t.Logf("act ran the workflow in %s", time.Since(start).Round(time.Second))
	require.NoError(t, err, "act:\n%s", tail(log, 200))

	// Every job ran, and succeeded.
	for _, job := range []string{"test", "release", "deploy staging"} {
		assert.Regexp(t, `(?m)^\[deploy/`+job+`\s*\]\s+🏁  Job succeeded`, log, job)
	}
	// The shop's tests passed, those against PostgreSQL among them: they skip
	// without a database, and none did.
	summary := regexp.MustCompile(`(?m)\| =+ (.+) in [0-9.]+s =+$`).FindStringSubmatch(log)
	require.NotNil(t, summary, "no pytest summary in act's output:\n%s", tail(log, 200))
	assert.Regexp(t, `^\d+ passed$`, summary[1])
	assert.Contains(t, log, "tests/test_postgres.py ...")

	// What the staging job deployed is what the release job pushed: its refs
	// output, by digest, in the shop's registry.
	refs := regexp.MustCompile(`(?m)set-output:: refs=(\S+@sha256:[0-9a-f]{64})`).FindStringSubmatch(log)
	require.NotNil(t, refs, "the release job set no refs output:\n%s", tail(log, 200))
	ref, err := name.NewDigest(refs[1], name.Insecure)
	require.NoError(t, err)
	assert.Equal(t, shopRepo, ref.Context().Name())
	auth := remote.WithAuth(&authn.Basic{Username: "ci", Password: registryPassword})
	desc, err := remote.Head(ref, auth)
	require.NoError(t, err, "the pushed image is in the registry")
	assert.Equal(t, ref.DigestStr(), desc.Digest.String())
	d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "shop", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, refs[1], d.Spec.Template.Spec.Containers[0].Image, "the Deployment runs the pushed digest")
	require.NotNil(t, d.Spec.Replicas)
	assert.Equal(t, d.Generation, d.Status.ObservedGeneration)
	assert.Equal(t, *d.Spec.Replicas, d.Status.ReadyReplicas, "the Deployment is Ready")
	assert.Equal(t, *d.Spec.Replicas, d.Status.UpdatedReplicas)

	// No secret shows in act's output: act masks the secrets it was given, and
	// deploy-action masks the kubeconfig's credentials line by line.
	assert.NotContains(t, log, registryPassword)
	assert.NotContains(t, log, clientKey[1])
	assert.NotContains(t, log, "BEGIN")
	assert.Contains(t, log, "***")
	if t.Failed() {
		t.Logf("act:\n%s", tail(log, 300))
	}
}

// freeTCPPort returns a port of the loopback interface that nothing listens on now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// must returns v, panicking on err: for values a test cannot go on without and
// whose failure is a broken test machine.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
