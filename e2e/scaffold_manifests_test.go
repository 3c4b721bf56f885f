package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/detect"
	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

// promOperator is the prometheus-operator release whose CRDs the generated
// ServiceMonitor and PrometheusRule are checked against; its CRD manifests are
// taken from the Go module proxy's copy of the repository.
const promOperator = "github.com/prometheus-operator/prometheus-operator@v0.94.1"

var (
	crdOnce sync.Once
	crdDir  string
	crdErr  error
)

// operatorCRDs returns the directory of prometheus-operator's CRD manifests.
func operatorCRDs(t *testing.T) string {
	t.Helper()
	crdOnce.Do(func() {
		dir, err := os.MkdirTemp("", "promop")
		if err != nil {
			crdErr = err
			return
		}
		defer os.RemoveAll(dir)
		if crdErr = os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module crds\n"), 0o644); crdErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", promOperator)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			crdErr = err
			return
		}
		var m struct{ Dir, Error string }
		if crdErr = json.Unmarshal(out, &m); crdErr == nil {
			crdDir = filepath.Join(m.Dir, "example", "prometheus-operator-crd")
		}
	})
	require.NoError(t, crdErr, "go mod download %s", promOperator)
	return crdDir
}

// crdSchemas writes strict JSON schemas for kubeconform from the CRDs of
// ServiceMonitor and PrometheusRule, named as kubeconform looks them up, the
// way e2e/cluster/kube/schemagen makes the built-in ones strict.
func crdSchemas(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	for _, f := range []string{"monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"} {
		b, err := os.ReadFile(filepath.Join(operatorCRDs(t), f))
		require.NoError(t, err)
		var crd struct {
			Spec struct {
				Group string `yaml:"group"`
				Names struct {
					Kind string `yaml:"kind"`
				} `yaml:"names"`
				Versions []struct {
					Name   string `yaml:"name"`
					Schema struct {
						OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
					} `yaml:"schema"`
				} `yaml:"versions"`
			} `yaml:"spec"`
		}
		require.NoError(t, yaml.Unmarshal(b, &crd))
		for _, v := range crd.Spec.Versions {
			s := v.Schema.OpenAPIV3Schema
			strictSchema(s)
			data, err := json.MarshalIndent(s, "", "  ")
			require.NoError(t, err)
			group, _, _ := strings.Cut(crd.Spec.Group, ".")
			name := strings.ToLower(crd.Spec.Names.Kind) + "-" + group + "-" + v.Name + ".json"
			require.NoError(t, os.WriteFile(filepath.Join(out, name), data, 0o644))
		}
	}
	return out
}

func strictSchema(v any) {
	switch s := v.(type) {
	case map[string]any:
		if _, ok := s["properties"]; ok {
			if _, set := s["additionalProperties"]; !set && s["x-kubernetes-preserve-unknown-fields"] != true {
				s["additionalProperties"] = false
			}
		}
		for _, x := range s {
			strictSchema(x)
		}
	case []any:
		for _, x := range s {
			strictSchema(x)
		}
	}
}

// generatedOverlays generates every fixture's files (the shop's forced) into
// one tree and returns the kustomize output of each deployable directory.
func generatedOverlays(t *testing.T, opts func(name string) scaffold.Options) map[string][]byte {
	t.Helper()
	root := filepath.Join(testenv.RepoRoot(t), "e2e", "testdata")
	fs := filesys.MakeFsInMemory()
	var dirs []string
	for name, dir := range map[string]string{"shop": "shop", "flask-src": "repos/flask-src", "fastapi-asyncpg": "repos/fastapi-asyncpg",
		"django": "repos/django", "go-service": "repos/go-service", "node-service": "repos/node-service", "java-maven": "repos/java-maven",
		"helm-chart": "repos/helm-chart", "three-services": "repos/three-services"} {
		repo, err := detect.Detect(t.Context(), filepath.Join(root, dir))
		require.NoError(t, err)
		for _, svc := range repo.Services {
			files, err := scaffold.Files(repo, svc, opts(name))
			require.NoError(t, err)
			for _, f := range files {
				require.NoError(t, fs.WriteFile("/"+name+"/"+f.Path, f.Content))
				d := filepath.Dir("/" + name + "/" + f.Path)
				if filepath.Base(f.Path) == "kustomization.yaml" && (strings.Contains(d, "/overlays/") || strings.HasSuffix(d, "/monitoring")) {
					dirs = append(dirs, d)
				}
			}
		}
	}
	out := map[string][]byte{}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	for _, d := range dirs {
		m, err := k.Run(fs, d)
		require.NoError(t, err, d)
		y, err := m.AsYaml()
		require.NoError(t, err)
		out[strings.TrimPrefix(d, "/")] = y
	}
	return out
}

func shopForced(name string) scaffold.Options {
	if name != "shop" {
		return scaffold.Options{}
	}
	return scaffold.Options{Image: shopImage, Parts: map[scaffold.Part]scaffold.Mode{
		scaffold.Kubernetes: scaffold.Force, scaffold.Migrations: scaffold.Force, scaffold.Database: scaffold.Force}}
}

// TestGeneratedManifestsPassKubeconform checks every generated manifest
// offline, strictly, against the schemas of the pinned Kubernetes release and
// of prometheus-operator's CRDs.
func TestGeneratedManifestsPassKubeconform(t *testing.T) {
	bin, location := kubetest.Kubeconform(t)
	crds := crdSchemas(t)
	for dir, y := range generatedOverlays(t, shopForced) {
		t.Run(dir, func(t *testing.T) {
			cmd := exec.Command(bin, "-strict", "-summary", "-schema-location", location,
				"-schema-location", crds+"/{{ .ResourceKind }}{{ .KindSuffix }}.json", "-")
			cmd.Stdin = strings.NewReader(string(y))
			cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "Invalid: 0, Errors: 0, Skipped: 0")
		})
	}
}

// installCRDs installs prometheus-operator's ServiceMonitor and PrometheusRule
// CRDs in the test cluster.
func installCRDs(t *testing.T, c *kubetest.Env) {
	t.Helper()
	for _, f := range []string{"monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"} {
		b, err := os.ReadFile(filepath.Join(operatorCRDs(t), f))
		require.NoError(t, err)
		out, errOut, err := c.Kubectl(t, string(b), "apply", "--server-side", "--force-conflicts", "-f", "-")
		require.NoError(t, err, "%s%s", out, errOut)
	}
	out, errOut, err := c.Kubectl(t, "", "wait", "--for=condition=Established", "--timeout=60s",
		"crd/servicemonitors.monitoring.coreos.com", "crd/prometheusrules.monitoring.coreos.com")
	require.NoError(t, err, "%s%s", out, errOut)
}

// restrictedNamespace is a test namespace that enforces (and warns about) the
// restricted Pod Security Standard.
func restrictedNamespace(t *testing.T, c *kubetest.Env) string {
	t.Helper()
	ns := c.Namespace(t)
	out, errOut, err := c.Kubectl(t, "", "label", "namespace", ns,
		"pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/warn=restricted", "pod-security.kubernetes.io/audit=restricted")
	require.NoError(t, err, "%s%s", out, errOut)
	return ns
}

// TestGeneratedManifestsPassServerDryRun sends every generated manifest to
// the test control plane in a server-side dry run, in a namespace enforcing
// the restricted Pod Security Standard: nothing is rejected or warned about.
func TestGeneratedManifestsPassServerDryRun(t *testing.T) {
	c := rollouttest.Cluster(t)
	installCRDs(t, c)
	ns := restrictedNamespace(t, c)
	for dir, y := range generatedOverlays(t, shopForced) {
		t.Run(dir, func(t *testing.T) {
			out, errOut, err := c.Kubectl(t, string(y), "apply", "--server-side", "--dry-run=server", "-n", ns, "-f", "-")
			require.NoError(t, err, "%s%s", out, errOut)
			assert.Empty(t, strings.TrimSpace(errOut), "warnings")
			assert.NotContains(t, out, "Warning")
		})
	}
}

// TestGeneratedShopDeploys deploys the shop's generated production overlay
// through deploy-action, pinned by digest, to a namespace enforcing the
// restricted standard: the migration Job, a pre-install hook, completes
// before the Deployment and its pods are created, the Deployment is Ready,
// the HPA and PDB are accepted.
func TestGeneratedShopDeploys(t *testing.T) {
	c := rollouttest.Cluster(t)
	installCRDs(t, c)
	ns := restrictedNamespace(t, c)
	overlays := generatedOverlays(t, shopForced)
	y, ok := overlays["shop/deploy/overlays/production"]
	require.True(t, ok)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "release.yaml"), y, 0o644))
	_, errOut, err := c.Kubectl(t, "", "-n", ns, "create", "secret", "generic", "shop-db", "--from-literal=DATABASE_URL=postgresql://shop:"+randomHex(t, 8)+"@db/shop")
	require.NoError(t, err, errOut)

	pinned := shopImage + "@" + digest('c')
	migrated := jobWhenDeploymentChanges(t, c, ns, "shop", pinned, "shop-migrate")
	out, code := testenv.Run(t, rolloutEnv(c), "rollout", "--manifests", dir, "--namespace", ns, "--image-map", pinned)
	require.Equal(t, 0, code, out)
	assert.Equal(t, "succeeded", outputs(out)["verdict"], out)
	assert.Regexp(t, `(?m)^pre-install\s+Job `+ns+`/shop-migrate\s+created\s+✅ completed in`, out, "the summary's hook row")
	// The Job as it was when the Deployment was created: already complete.
	atCreation := migrated()
	require.NotNil(t, atCreation, "the Deployment was created")
	assert.True(t, jobDone(atCreation.Status.Conditions), "the migration Job had completed when the Deployment was created: %+v", atCreation.Status)
	// The manifest policy, run before anything is applied, finds nothing.
	assert.Regexp(t, `manifest policy: passed in \d+ object\(s\)\n`, out)

	ctx := context.Background()
	dep, err := c.Client.AppsV1().Deployments(ns).Get(ctx, "shop", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, pinned, dep.Spec.Template.Spec.Containers[0].Image)
	assert.EqualValues(t, 3, dep.Status.ReadyReplicas)
	job, err := c.Client.BatchV1().Jobs(ns).Get(ctx, "shop-migrate", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, pinned, job.Spec.Template.Spec.Containers[0].Image)
	assert.True(t, jobDone(job.Status.Conditions), "the migration Job completed: %+v", job.Status)
	assert.Equal(t, atCreation.UID, job.UID, "one migration Job ran")
	// The timestamps agree, to the second the API server records: no pod of
	// the Deployment is older than the migration's completion.
	rs := replicaSetOf(t, c, ns, "shop", pinned)
	require.NotNil(t, rs, "the Deployment's ReplicaSet")
	pods, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	n := 0
	for _, p := range pods.Items {
		if owner := metav1.GetControllerOf(&p); owner == nil || owner.UID != rs.UID {
			continue
		}
		n++
		assert.False(t, p.CreationTimestamp.Time.Before(jobDoneAt(job)), "pod %s (%s) is not older than the migration's completion (%s)", p.Name, p.CreationTimestamp, jobDoneAt(job))
	}
	assert.EqualValues(t, 3, n, "the Deployment's pods")
	_, err = c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "shop", metav1.GetOptions{})
	assert.NoError(t, err)
	_, err = c.Client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "shop", metav1.GetOptions{})
	assert.NoError(t, err)
}

func jobDone(conds any) bool {
	b, _ := json.Marshal(conds)
	return strings.Contains(string(b), `"type":"Complete","status":"True"`) || strings.Contains(string(b), `"type":"SuccessCriteriaMet","status":"True"`)
}
