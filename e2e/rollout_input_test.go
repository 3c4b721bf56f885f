package e2e

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// TestRolloutKustomizeAndHelm deploys the shop from its production overlay
// (kustomize) and from its Helm chart: each renders, pins the shop's image by
// digest, applies and rolls out with the replicas its overlay or values ask for.
func TestRolloutKustomizeAndHelm(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	pinned := shopImage + "@" + digest('c')

	for _, tc := range []struct {
		name string
		// args are the flags that choose the manifests, given the copy of
		// e2e/testdata/shop the case deploys from.
		args     func(root string) []string
		replicas int32
		// from is how the summary names the Deployment's source.
		from func(root string) string
	}{
		{
			// The overlay reads ../k8s, outside its own directory: kustomize
			// allows that only within "manifests-root" (see the kustomization).
			name: "kustomize",
			args: func(root string) []string {
				return []string{"--manifests", filepath.Join(root, "kustomize"), "--manifests-root", root}
			},
			replicas: 3, // replicas.yaml
			from: func(root string) string {
				return filepath.Join(root, "k8s", "deployment.yaml") + " (kustomization " + filepath.Join(root, "kustomize") + ")"
			},
		},
		{
			name: "helm",
			args: func(root string) []string {
				return []string{"--manifests", filepath.Join(root, "chart"), "--helm-release", "shop",
					"--helm-set", "replicas=4",
					// With database.url the chart creates the Secret the pods read.
					"--helm-set", "database.url=postgresql://shop:pw-4f9c2e@postgres:5432/shop"}
			},
			replicas: 4,
			from: func(root string) string {
				return filepath.Join(root, "chart", "templates", "deployment.yaml") + " (helm chart shop, "
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			root := filepath.Dir(shopManifests(t, "k8s", nil)) // the copy holds k8s, kustomize and chart
			args := append([]string{"rollout", "--namespace", ns, "--image-map", pinned}, tc.args(root)...)
			out, code := testenv.Run(t, rolloutEnv(c), args...)
			require.Equal(t, 0, code, out)
			o := outputs(out)
			assert.Equal(t, "succeeded", o["verdict"], out)
			assert.Equal(t, "false", o["rolled-back"])
			assert.Equal(t, "", o["cause"])
			assert.Contains(t, out, "Deployment "+ns+"/shop\n", "the resources output names the Deployment")
			assert.Contains(t, out, tc.from(root), "the summary names where the Deployment came from")

			dep, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "shop", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, pinned, dep.Spec.Template.Spec.Containers[0].Image, "the image is pinned by digest")
			require.NotNil(t, dep.Spec.Replicas)
			assert.Equal(t, tc.replicas, *dep.Spec.Replicas)
			assert.Equal(t, tc.replicas, dep.Status.ReadyReplicas, "every pod is Ready when the verdict is in")
			assert.Equal(t, tc.replicas, dep.Status.UpdatedReplicas)
			if tc.name == "kustomize" {
				assert.Equal(t, "shop", dep.Labels["app.kubernetes.io/part-of"], "the overlay's label")
			} else {
				assert.Equal(t, "shop", dep.Labels["app.kubernetes.io/instance"], "the release's label")
			}
			job, err := c.Client.BatchV1().Jobs(ns).Get(context.Background(), "shop-migrate", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, pinned, job.Spec.Template.Spec.Containers[0].Image)
			// Succeeded: the Job controller sets SuccessCriteriaMet as soon as
			// the pod has succeeded, before it counts the pod and adds Complete.
			assert.True(t, jobSucceeded(job), "the migration succeeded: %+v", job.Status)
		})
	}
}

// TestRolloutBadInput runs rollout with inputs that cannot deploy: each run
// fails with a message naming the input, or the object and the file it came
// from, and what to do; and where the check comes before the apply, nothing
// reaches the cluster.
func TestRolloutBadInput(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	pinned := shopImage + "@" + digest('c')

	// shop is the shop's plain manifests, deployed as the pipeline would.
	shop := func(t *testing.T, ns string, edits map[string]map[string]string, extra ...string) rolloutRun {
		return rolloutRun{env: rolloutEnv(c), args: append([]string{"--manifests", shopManifests(t, "k8s", edits), "--namespace", ns,
			"--image-map", pinned}, extra...)}
	}
	// withFile is the shop's manifests plus one more file.
	withFile := func(t *testing.T, ns, name, content string) (rolloutRun, string) {
		r := shop(t, ns, nil)
		dir := r.args[1]
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
		return r, filepath.Join(dir, name)
	}

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, ns string) (r rolloutRun, want []string)
		// applied is true when the failure comes after some objects were
		// applied, and the message must say which.
		applied bool
	}{
		{
			name: "no manifests found",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				empty := t.TempDir()
				return rolloutRun{env: rolloutEnv(c), args: []string{"--manifests", empty, "--namespace", ns}},
					[]string{`input "manifests"`, `no manifests found in "` + empty + `"`, "*.yaml", "kustomization", "Helm chart"}
			},
		},
		{
			name: "manifests not given",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				return rolloutRun{env: rolloutEnv(c), args: []string{"--namespace", ns, "--image-map", pinned}},
					[]string{`input "manifests" is empty`, "YAML files, directories or globs", "kustomization directory", "Helm chart"}
			},
		},
		{
			// A scanner error: yaml.v3 names the line of the bad character.
			name: "invalid YAML: a tab",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				r, file := withFile(t, ns, "broken.yaml",
					"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: b\n")
				return r, []string{file + ":9: invalid YAML", "tab", "spaces"}
			},
		},
		{
			// A parser error: the flow mapping opened on line 10 is never
			// closed, which the parser finds on line 11. Either line is
			// right; line 9 (yaml.v3's zero-based line of the mapping) is not.
			name: "invalid YAML: an unclosed flow mapping",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				r, file := withFile(t, ns, "broken.yaml",
					"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels: {app: b\ndata:\n  k: v\n")
				r.check = func(t *testing.T, out string) {
					assert.Regexp(t, regexp.QuoteMeta(file)+`:1[01]: invalid YAML: did not find expected ',' or '}'`, errorLine(t, out))
				}
				return r, []string{file + ":", "invalid YAML"}
			},
		},
		{
			name: "unknown kind",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				r, file := withFile(t, ns, "widget.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gadget\n")
				return r, []string{"Widget gadget (" + file + ":1)", `the cluster serves no kind "Widget" in apiVersion "example.com/v1"`,
					"CustomResourceDefinition", "(nothing was applied)"}
			},
		},
		{
			// The API server checks the whole release in a dry run first: the
			// Secret and Service before the Deployment are not applied either.
			name: "server-side validation: invalid value",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				r := shop(t, ns, map[string]map[string]string{"deployment.yaml": {"replicas: 2": "replicas: -1"}})
				return r, []string{"applying Deployment " + ns + "/shop (" + filepath.Join(r.args[1], "deployment.yaml") + ":3)",
					"the API server rejected it", "spec.replicas: Invalid value: -1: must be greater than or equal to 0", "fix the manifest",
					"(nothing was applied)"}
			},
		},
		{
			name: "server-side validation: unknown field",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				dir := shopManifests(t, "k8s", map[string]map[string]string{"deployment.yaml": {"replicas: 2": "replicaz: 2"}})
				file := filepath.Join(dir, "deployment.yaml")
				return rolloutRun{env: rolloutEnv(c), args: []string{"--manifests", file, "--namespace", ns, "--image-map", pinned}},
					[]string{"applying Deployment " + ns + "/shop (" + file + ":3)", "the API server rejected it",
						".spec.replicaz: field not declared in schema", "fix the manifest", "(nothing was applied)"}
			},
		},
		{
			name: "unreachable cluster",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				kc := filepath.Join(t.TempDir(), "kubeconfig")
				require.NoError(t, clientcmd.WriteToFile(clientcmdapi.Config{
					Clusters:       map[string]*clientcmdapi.Cluster{"gone": {Server: "https://127.0.0.1:1", InsecureSkipTLSVerify: true}},
					AuthInfos:      map[string]*clientcmdapi.AuthInfo{"ci": {Token: "not-a-real-token"}},
					Contexts:       map[string]*clientcmdapi.Context{"gone": {Cluster: "gone", AuthInfo: "ci"}},
					CurrentContext: "gone",
				}, kc))
				r := shop(t, ns, nil, "--kubeconfig-file", kc)
				r.check = func(t *testing.T, out string) {
					// A refused connection fails at once: the run ends on the
					// refusal itself, not on a deadline after minutes of retries.
					assert.NotContains(t, out, "deadline exceeded")
					assert.NotContains(t, out, "Client.Timeout")
				}
				return r, []string{"cannot reach the Kubernetes API server at https://127.0.0.1:1", "connection refused",
					"check the server address in the kubeconfig"}
			},
		},
		{
			name:  "forbidden by RBAC",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) { return forbiddenRun(t, c, ns) },
		},
		{
			name: "bad rollout-timeout",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				return shop(t, ns, nil, "--rollout-timeout", "abc"),
					[]string{`input "rollout-timeout": "abc" is not a duration`, "90s, 5m or 1h"}
			},
		},
		{
			name: "bad pin-unmatched",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				return shop(t, ns, nil, "--pin-unmatched", "maybe"),
					[]string{`input "pin-unmatched": "maybe" is not a policy`, `"error" or "warn"`}
			},
		},
		{
			name: "image-map without a digest",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				r := shop(t, ns, nil)
				r.args[len(r.args)-1] = shopImage + ":1.0"
				return r, []string{`input "image-map": line 1: `, `"` + shopImage + `:1.0" is not SOURCE=TARGET@sha256:<digest> nor REPOSITORY@sha256:<digest>`}
			},
		},
		{
			name: "image-map names no container's repository",
			setup: func(t *testing.T, ns string) (rolloutRun, []string) {
				r := shop(t, ns, nil)
				r.args[len(r.args)-1] = "docker.io/acme/other@" + digest('c')
				return r, []string{`input "image-map" line 1 (docker.io/acme/other) matches no container`,
					shopImage + ":latest (Deployment/shop)", "correct the repository, or drop the mapping"}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			r, want := tc.setup(t, ns)
			out, code := testenv.Run(t, r.env, append([]string{"rollout"}, r.args...)...)
			require.Equal(t, 1, code, out)
			msg := errorLine(t, out)
			for _, w := range want {
				assert.Contains(t, msg, w)
			}
			// "input "x": input "x" ...": the input named twice over.
			for _, m := range inputTwice.FindAllStringSubmatch(msg, -1) {
				assert.NotEqual(t, m[1], m[2], "the message names input %q twice in a row: %s", m[1], msg)
			}
			if r.check != nil {
				r.check(t, out)
			}
			assert.Empty(t, deploymentNames(t, c, ns), "no Deployment was applied")
			if !tc.applied {
				_, err := c.Client.CoreV1().Secrets(ns).Get(context.Background(), "shop-db", metav1.GetOptions{})
				assert.True(t, apierrors.IsNotFound(err), "the Secret was not applied: %v", err)
				_, err = c.Client.CoreV1().Services(ns).Get(context.Background(), "shop", metav1.GetOptions{})
				assert.True(t, apierrors.IsNotFound(err), "the Service was not applied: %v", err)
			}
		})
	}
}

// TestRolloutDryRun has the API server check the shop's objects and store
// none of them.
func TestRolloutDryRun(t *testing.T) {
	t.Parallel()
	c := rollouttest.Cluster(t)
	ns := c.Namespace(t)
	out, code := testenv.Run(t, rolloutEnv(c), "rollout", "--manifests", shopManifests(t, "k8s", nil), "--namespace", ns,
		"--image-map", shopImage+"@"+digest('c'), "--dry-run")
	require.Equal(t, 0, code, out)
	o := outputs(out)
	assert.Equal(t, "dry-run", o["verdict"], out)
	assert.Equal(t, "false", o["rolled-back"])
	assert.Contains(t, out, "Deployment "+ns+"/shop: created (dry run)")
	assert.Contains(t, out, "dry run: nothing was stored")
	assert.NotContains(t, out, "rolled out", "a dry run watches nothing")

	ctx := context.Background()
	assert.Empty(t, deploymentNames(t, c, ns))
	jobs, err := c.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, jobs.Items)
	_, err = c.Client.CoreV1().Secrets(ns).Get(ctx, "shop-db", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the Secret was not stored: %v", err)
	_, err = c.Client.CoreV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the Service was not stored: %v", err)
}

// rolloutRun is one run of the binary: its environment, its arguments (after
// "rollout"), and checks beyond the common ones.
type rolloutRun struct {
	env   []string
	args  []string
	check func(t *testing.T, out string)
}

var (
	errorLineRE = regexp.MustCompile(`(?m)^(?:error: |::error::)(.*)$`)
	inputTwice  = regexp.MustCompile(`input "([a-z-]+)": input "([a-z-]+)"`)
)

// errorLine is the message of the run's error line: "error: ..." on a
// terminal, "::error::..." in GitHub Actions.
func errorLine(t *testing.T, out string) string {
	t.Helper()
	m := errorLineRE.FindAllStringSubmatch(out, -1)
	require.Len(t, m, 1, "one error line in:\n%s", out)
	return m[0][1]
}

func jobSucceeded(j *batchv1.Job) bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobSuccessCriteriaMet) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func deploymentNames(t *testing.T, c *kubetest.Env, ns string) []string {
	t.Helper()
	l, err := c.Client.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, d := range l.Items {
		names = append(names, d.Name)
	}
	return names
}

// forbiddenRun is a run inside GitHub Actions with the kubeconfig as the
// secret input "kubeconfig": a ServiceAccount's token that may read
// Deployments in ns but not write them. The token must show only in the
// ::add-mask:: command that hides it, never in the log, the outputs or the
// step summary, nor in a file.
func forbiddenRun(t *testing.T, c *kubetest.Env, ns string) (r rolloutRun, want []string) {
	ctx := context.Background()
	const sa = "deployer"
	_, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "read-deployments"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "read-deployments"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "read-deployments"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	tr, err := c.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	token := tr.Status.Token
	require.NotEmpty(t, token)

	cluster := &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: c.Config.CAData}
	if len(cluster.CertificateAuthorityData) == 0 && c.Config.CAFile != "" {
		cluster.CertificateAuthorityData, err = os.ReadFile(c.Config.CAFile)
		require.NoError(t, err)
	}
	if len(cluster.CertificateAuthorityData) == 0 {
		cluster.InsecureSkipTLSVerify = true
	}
	kubeconfig, err := clientcmd.Write(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"ci": cluster},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{sa: {Token: token}},
		Contexts:       map[string]*clientcmdapi.Context{"ci": {Cluster: "ci", AuthInfo: sa}},
		CurrentContext: "ci",
	})
	require.NoError(t, err)

	// The runner's side: the file-command files, and a temporary directory
	// of its own, to show the kubeconfig is never written to disk.
	cmds, tmp := t.TempDir(), t.TempDir()
	outputFile, summaryFile := filepath.Join(cmds, "output"), filepath.Join(cmds, "summary")
	for _, f := range []string{outputFile, summaryFile} {
		require.NoError(t, os.WriteFile(f, nil, 0o644))
	}
	dir := shopManifests(t, "k8s", nil)
	file := filepath.Join(dir, "deployment.yaml")
	r.env = append(githubEnv(),
		"GITHUB_ACTIONS=true",
		"GITHUB_OUTPUT="+outputFile,
		"GITHUB_STEP_SUMMARY="+summaryFile,
		"TMPDIR="+tmp,
		"INPUT_KUBECONFIG="+string(kubeconfig))
	r.args = []string{"--manifests", file, "--namespace", ns, "--image-map", shopImage + "@" + digest('c')}
	r.check = func(t *testing.T, out string) {
		masks := 0
		for _, l := range strings.Split(out, "\n") {
			if !strings.Contains(l, token) {
				continue
			}
			if assert.Equal(t, "::add-mask::"+token, l, "the token shows only in its add-mask command") {
				masks++
			}
		}
		assert.Equal(t, 1, masks, "the token is masked once:\n%s", out)

		output, err := os.ReadFile(outputFile)
		require.NoError(t, err)
		assert.Regexp(t, `(?m)^verdict<<(\S+)\nfailed\n`, string(output))
		assert.NotContains(t, string(output), token)
		summary, err := os.ReadFile(summaryFile)
		require.NoError(t, err)
		assert.Contains(t, string(summary), "forbidden")
		assert.NotContains(t, string(summary), token)
		require.NoError(t, filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err == nil {
				assert.NotContains(t, string(b), token, "%s holds the token", p)
			}
			return nil
		}))
	}
	subject := "system:serviceaccount:" + ns + ":" + sa
	want = []string{
		"applying Deployment " + ns + "/shop (" + file + ":3)",
		"forbidden",
		`grant "` + subject + `" the verb "patch" on deployments.apps in namespace "` + ns + `"`,
		`apiGroups: ["apps"], resources: ["deployments"]`,
		"(nothing was applied)",
	}
	return r, want
}
