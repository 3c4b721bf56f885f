package scaffold_test

import (
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

// overlays returns each kustomization directory that is deployed on its own:
// the environments' overlays, and monitoring where there are none.
func overlays(files map[string]scaffold.File) []string {
	var dirs []string
	has := map[string]bool{}
	for p := range files {
		has[path.Dir(p)] = path.Base(p) == "kustomization.yaml" || has[path.Dir(p)]
	}
	for d, k := range has {
		if !k {
			continue
		}
		switch {
		case strings.HasSuffix(d, "/overlays/staging"), strings.HasSuffix(d, "/overlays/production"):
			dirs = append(dirs, d)
		case strings.HasSuffix(d, "/monitoring") && !has[path.Join(path.Dir(d), "overlays/staging")]:
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	return dirs
}

// build runs kustomize on a generated overlay and returns its objects as YAML.
func build(t testing.TB, files map[string]scaffold.File, dir string) []byte {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	for p, f := range files {
		require.NoError(t, fs.WriteFile("/"+p, f.Content))
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fs, "/"+dir)
	require.NoError(t, err, dir)
	out, err := m.AsYaml()
	require.NoError(t, err)
	return out
}

type object struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   map[string]any `yaml:"metadata"`
	Spec       map[string]any `yaml:"spec"`
	Data       map[string]any `yaml:"data"`
	StringData map[string]any `yaml:"stringData"`
}

func objects(t testing.TB, y []byte) []object {
	t.Helper()
	var out []object
	for _, doc := range strings.Split(string(y), "\n---\n") {
		var o object
		require.NoError(t, yaml.Unmarshal([]byte(doc), &o))
		out = append(out, o)
	}
	return out
}

func kinds(objs []object) []string {
	var k []string
	for _, o := range objs {
		k = append(k, o.Kind+"/"+o.Metadata["name"].(string))
	}
	sort.Strings(k)
	return k
}

func TestKustomizationsBuild(t *testing.T) {
	files := every(t)
	dirs := overlays(files)
	require.Contains(t, dirs, "flask-src/deploy/overlays/staging")
	for _, d := range dirs {
		t.Run(d, func(t *testing.T) {
			objs := objects(t, build(t, files, d))
			for _, o := range objs {
				// Never a secret value in a manifest.
				assert.NotEqual(t, "Secret", o.Kind, d)
			}
			if strings.HasSuffix(d, "/monitoring") {
				return
			}
			k := kinds(objs)
			name := strings.Split(d, "/")[0]
			if name == "shop-forced" {
				name = "shop"
			}
			if strings.HasPrefix(d, "three-services/") {
				name = strings.Split(d, "/")[2]
			}
			for _, want := range []string{"Deployment/" + name, "HorizontalPodAutoscaler/" + name, "PodDisruptionBudget/" + name,
				"NetworkPolicy/" + name, "ServiceAccount/" + name, "ConfigMap/" + name + "-config"} {
				assert.Contains(t, k, want)
			}
		})
	}
}

// The shop, forced, gets everything: its migration Job, staging's database,
// and the monitoring in both environments.
func TestShopOverlays(t *testing.T) {
	files := every(t)
	staging := kinds(objects(t, build(t, files, "shop-forced/deploy/overlays/staging")))
	assert.Equal(t, []string{
		"ConfigMap/shop-config", "ConfigMap/shop-dashboard", "Deployment/shop", "HorizontalPodAutoscaler/shop", "Job/shop-migrate",
		"NetworkPolicy/shop", "NetworkPolicy/shop-postgres", "PodDisruptionBudget/shop", "PodDisruptionBudget/shop-postgres",
		"PrometheusRule/shop", "Service/shop", "Service/shop-postgres", "ServiceAccount/shop", "ServiceMonitor/shop", "StatefulSet/shop-postgres",
	}, staging)
	production := kinds(objects(t, build(t, files, "shop-forced/deploy/overlays/production")))
	assert.NotContains(t, production, "StatefulSet/shop-postgres", "production's database is external")
	assert.Contains(t, production, "Job/shop-migrate")
}

// Only kustomize's current fields: patches, labels, resources.
func TestKustomizationsUseCurrentFields(t *testing.T) {
	for p, f := range every(t) {
		if path.Base(p) != "kustomization.yaml" {
			continue
		}
		var k map[string]any
		require.NoError(t, yaml.Unmarshal(f.Content, &k))
		for field := range k {
			assert.Contains(t, []string{"apiVersion", "kind", "resources", "patches", "labels"}, field, p)
		}
	}
}
