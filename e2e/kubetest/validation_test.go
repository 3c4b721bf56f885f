package kubetest_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/e2e/kubetest/controlplane"
)

const validDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  creationTimestamp: null
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  strategy:
    rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: app
        image: example.com/web:1
        ports:
        - containerPort: 8080
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 1, memory: 128Mi}
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
`

// kubeconform validates manifest offline against the generated schemas and
// returns its output and whether it accepted the manifest.
func kubeconform(t *testing.T, manifest string) (string, bool) {
	t.Helper()
	bin, location := kubetest.Kubeconform(t)
	cmd := exec.Command(bin, "-strict", "-summary", "-schema-location", location, "-")
	cmd.Stdin = strings.NewReader(manifest)
	// No network: a schema missing from the directory must fail, not download.
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9")
	out, err := cmd.CombinedOutput()
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "kubeconform: %s", out)
	}
	return string(out), err == nil
}

func TestInvalidManifestsAreRejectedByTheServerAndOffline(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	ns := c.Namespace(t)

	for _, tc := range []struct {
		name, manifest  string
		server, offline string // what each rejection must say; empty: accepted
	}{
		{name: "valid", manifest: validDeployment},
		{
			name:     "unknown field",
			manifest: strings.Replace(validDeployment, "  replicas: 2", "  replica: 2", 1),
			server:   `strict decoding error: unknown field "spec.replica"`,
			offline:  "additional properties 'replica' not allowed",
		},
		{
			name:     "wrong type",
			manifest: strings.Replace(validDeployment, "  replicas: 2", `  replicas: "two"`, 1),
			server:   "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
			offline:  "/spec/replicas",
		},
		{
			name:     "unknown field deep in the pod template",
			manifest: strings.Replace(validDeployment, "        image: example.com/web:1", "        image: example.com/web:1\n        imagePullPolcy: Always", 1),
			server:   `unknown field "spec.template.spec.containers[0].imagePullPolcy"`,
			offline:  "additional properties 'imagePullPolcy' not allowed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := c.Kubectl(t, tc.manifest, "apply", "--dry-run=server", "-n", ns, "-f", "-")
			if tc.server == "" {
				require.NoError(t, err, stderr)
				assert.Contains(t, stdout, "deployment.apps/web created (server dry run)")
			} else {
				require.Error(t, err, "the API server accepted it: %s", stdout)
				assert.Contains(t, stderr, "Error from server (BadRequest)")
				assert.Contains(t, stderr, tc.server)
			}

			out, ok := kubeconform(t, tc.manifest)
			if tc.offline == "" {
				assert.True(t, ok, out)
				assert.Contains(t, out, "Valid: 1, Invalid: 0, Errors: 0, Skipped: 0")
			} else {
				assert.False(t, ok, "kubeconform accepted it: %s", out)
				assert.Contains(t, out, "Deployment web is invalid")
				assert.Contains(t, out, tc.offline)
			}
		})
	}
	// Nothing was created: both checks were dry runs.
	stdout, _, err := c.Kubectl(t, "", "get", "deployments", "-n", ns, "-o", "name")
	require.NoError(t, err)
	assert.Empty(t, strings.TrimSpace(stdout))
}

// TestSchemasCoverWhatTheServerServes compares the generated schemas with the
// API server's discovery: a schema for every kind it lists, and none for a group
// version it does not serve (alpha and beta APIs are off by default).
func TestSchemasCoverWhatTheServerServes(t *testing.T) {
	t.Parallel()
	c := kubetest.Cluster(t)
	c.RequireControlPlane(t)
	dir, err := controlplane.Schemas(os.Getenv)
	if err != nil {
		kubetest.Kubeconform(t) // stops the test with the build hint
	}
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	require.NoError(t, err)
	var index []struct{ APIVersion, Kind, File string }
	require.NoError(t, json.Unmarshal(data, &index))

	_, lists, err := c.Client.Discovery().ServerGroupsAndResources()
	require.NoError(t, err)
	served := map[schema.GroupVersionKind]bool{}
	listed := map[schema.GroupVersionKind]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		require.NoError(t, err)
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue // a subresource
			}
			gvk := gv.WithKind(r.Kind)
			served[gvk] = true
			for _, v := range r.Verbs {
				if v == "list" {
					listed[gvk] = true
				}
			}
		}
	}

	have := map[schema.GroupVersionKind]bool{}
	for _, e := range index {
		gv, err := schema.ParseGroupVersion(e.APIVersion)
		require.NoError(t, err)
		gvk := gv.WithKind(e.Kind)
		have[gvk] = true
		assert.FileExists(t, filepath.Join(dir, e.File))
		if !strings.HasSuffix(e.Kind, "List") {
			assert.True(t, served[gvk], "a schema for %s, which the API server does not serve", gvk)
		}
	}
	for gvk := range listed {
		assert.True(t, have[gvk], "no schema for %s, which the API server serves", gvk)
		assert.True(t, have[gvk.GroupVersion().WithKind(gvk.Kind+"List")], "no schema for %sList", gvk)
	}
	assert.Greater(t, len(index), 100)
}
