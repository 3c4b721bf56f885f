package controlplane

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

type stage struct {
	APIVersion string `json:"apiVersion"`
	Kind       string
	Metadata   struct{ Name string }
	Spec       struct {
		ResourceRef struct{ Kind string } `json:"resourceRef"`
		Selector    struct {
			MatchExpressions []struct{ Key, Operator string } `json:"matchExpressions"`
		}
		Next *struct {
			StatusTemplate string `json:"statusTemplate"`
			Delete         bool
		}
		Steps []struct {
			Patch *struct{ Template, Type, Subresource string }
			Apply *struct{ Template string }
		}
	}
}

func renderedStages(t *testing.T) []stage {
	t.Helper()
	data, err := Stages()
	require.NoError(t, err)
	var out []stage
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var s stage
		require.NoError(t, yaml.Unmarshal(doc, &s), "%s", doc)
		out = append(out, s)
	}
	return out
}

func TestStagesRenderOneStagePerState(t *testing.T) {
	var names []string
	for _, s := range renderedStages(t) {
		assert.Equal(t, "kwok.x-k8s.io/v1alpha1", s.APIVersion)
		assert.Equal(t, "Stage", s.Kind)
		names = append(names, s.Metadata.Name)
		if s.Spec.ResourceRef.Kind == "Pod" && s.Metadata.Name != "pod-delete" {
			require.NotEmpty(t, s.Spec.Selector.MatchExpressions)
			first := s.Spec.Selector.MatchExpressions[0]
			assert.Equal(t, ".metadata.deletionTimestamp", first.Key, "stage %s must leave deleted pods to pod-delete", s.Metadata.Name)
			assert.Equal(t, "DoesNotExist", first.Operator)
		}
	}
	// Supplying stages replaces all of kwok's: the node ones must be here too.
	assert.Equal(t, []string{
		"node-initialize", "node-heartbeat-with-lease",
		"pod-create", "pod-start-pull-error", "pod-start", "pod-start-unready",
		"pod-pull-backoff", "pod-crash-backoff", "pod-crash-restart", "pod-job-complete", "pod-delete",
	}, names)
}

// TestStageTemplatesParse parses every kwok template with stand-ins for kwok's
// and sprig's functions: a syntax error shows here, not as a pod that never
// changes in an end-to-end test.
func TestStageTemplatesParse(t *testing.T) {
	funcs := template.FuncMap{}
	for _, name := range strings.Fields(`Now Quote YAML Version NodeConditions NodeIP NodeName NodePort
		NodeIPWith PodIPWith list append has regexReplaceAll default dict dig sha256sum trunc
		join add min int toJson printf`) {
		funcs[name] = func(...any) any { return nil }
	}
	n := 0
	for _, s := range renderedStages(t) {
		var texts []string
		if s.Spec.Next != nil && s.Spec.Next.StatusTemplate != "" {
			texts = append(texts, s.Spec.Next.StatusTemplate)
		}
		for _, step := range s.Spec.Steps {
			if step.Patch != nil {
				assert.Equal(t, "strategic", step.Patch.Type, "stage %s: a merge patch would drop the scheduler's PodScheduled condition", s.Metadata.Name)
				texts = append(texts, step.Patch.Template)
			}
			if step.Apply != nil {
				texts = append(texts, step.Apply.Template)
			}
		}
		for _, text := range texts {
			assert.NotContains(t, text, "[[", "stage %s", s.Metadata.Name)
			_, err := template.New(s.Metadata.Name).Funcs(funcs).Parse(text)
			assert.NoError(t, err, "stage %s:\n%s", s.Metadata.Name, text)
			n++
		}
	}
	assert.Greater(t, n, 20)
}

// TestVersionsMatchTheWrapperModules keeps the versions this package looks for in
// the cache in step with the ones e2e/cluster/build.sh builds.
func TestVersionsMatchTheWrapperModules(t *testing.T) {
	for _, tc := range []struct{ dir, module, version string }{
		{"kube", "k8s.io/kubernetes", KubernetesVersion},
		{"kube", "go.etcd.io/etcd/server/v3", EtcdVersion},
		{"kube", "sigs.k8s.io/kwok", KwokVersion},
		{"kubeconform", "github.com/yannh/kubeconform", KubeconformVersion},
	} {
		data, err := os.ReadFile(filepath.Join("..", "..", "cluster", tc.dir, "go.mod"))
		require.NoError(t, err)
		var found string
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
			if len(f) >= 2 && f[0] == tc.module {
				found = f[1]
			}
		}
		assert.Equal(t, tc.version, found, "%s in e2e/cluster/%s/go.mod", tc.module, tc.dir)
	}
}
