package cli

import (
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestActionYAML(t *testing.T) {
	const path = "../../action.yml"
	want := ActionYAML()
	if *update {
		require.NoError(t, os.WriteFile(path, want, 0o644))
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "action.yml is stale; run: go test ./internal/cli -run TestActionYAML -update")

	// The file is valid YAML with every input documented, and every input is a flag of `run`.
	var meta struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Author      string `json:"author"`
		Branding    struct {
			Icon  string `json:"icon"`
			Color string `json:"color"`
		} `json:"branding"`
		Inputs map[string]struct {
			Description string `json:"description"`
			Default     string `json:"default"`
			Required    bool   `json:"required"`
		} `json:"inputs"`
		Outputs map[string]struct {
			Description string `json:"description"`
		} `json:"outputs"`
		Runs struct {
			Using string   `json:"using"`
			Image string   `json:"image"`
			Args  []string `json:"args"`
		} `json:"runs"`
	}
	require.NoError(t, yaml.UnmarshalStrict(got, &meta))
	assert.Equal(t, "docker", meta.Runs.Using)
	assert.Len(t, meta.Inputs, len(inputs))
	run := newRunCmd(&env{})
	for n, in := range meta.Inputs {
		assert.NotEmpty(t, in.Description, "input %s has no description", n)
		assert.NotNil(t, run.Flags().Lookup(n), "input %s is not a flag of run", n)
	}
	for n, o := range meta.Outputs {
		assert.NotEmpty(t, o.Description, "output %s has no description", n)
	}
}
