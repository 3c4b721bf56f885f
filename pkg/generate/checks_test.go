package generate

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// actionInputs reads the inputs of the repository's action.yml.
func actionInputs(t *testing.T) map[string]bool {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "action.yml"))
	require.NoError(t, err)
	var a struct {
		Inputs map[string]any `yaml:"inputs"`
	}
	require.NoError(t, yaml.Unmarshal(data, &a))
	require.NotEmpty(t, a.Inputs)
	in := map[string]bool{}
	for k := range a.Inputs {
		in[k] = true
	}
	return in
}

func mapping(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

func val(n *yaml.Node, key string) *yaml.Node { _, v := mapping(n, key); return v }

var (
	usesRe      = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+@[0-9a-f]{40}$`)
	versionCmt  = regexp.MustCompile(`^# v[0-9]+\.[0-9]+\.[0-9]+$`)
	needsOutRe  = regexp.MustCompile(`needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)
	untrustedRe = regexp.MustCompile(`\$\{\{[^}]*(github\.event\.|github\.head_ref|inputs\.)[^}]*\}\}`)
)

// checkWorkflow holds a generated workflow to the rules of the issue, beyond
// what actionlint checks.
func checkWorkflow(t *testing.T, src []byte, inputs map[string]bool) {
	t.Helper()
	text := string(src)
	assert.True(t, strings.HasPrefix(text, "# "+Marker), "header")
	assert.Contains(t, text, "deploy-action generate --check")
	assert.NotContains(t, text, "pull_request_target")
	assert.NotContains(t, text, "secrets: inherit")
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(src, &doc))
	root := doc.Content[0]
	perms := val(root, "permissions")
	require.NotNil(t, perms, "top-level permissions")
	assert.Equal(t, yaml.MappingNode, perms.Kind)
	assert.Empty(t, perms.Content, "top-level permissions: {}")
	on := val(root, "on")
	for _, ev := range []string{"pull_request", "push", "workflow_dispatch"} {
		assert.NotNil(t, val(on, ev), "trigger %s", ev)
	}

	jobs := val(root, "jobs")
	outputs := map[string]map[string]bool{}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		id, job := jobs.Content[i].Value, jobs.Content[i+1]
		outputs[id] = map[string]bool{}
		if o := val(job, "outputs"); o != nil {
			for j := 0; j < len(o.Content); j += 2 {
				outputs[id][o.Content[j].Value] = true
			}
		}
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		id, job := jobs.Content[i].Value, jobs.Content[i+1]
		t.Run(id, func(t *testing.T) {
			assert.NotNil(t, val(job, "timeout-minutes"), "timeout-minutes")
			p := val(job, "permissions")
			require.NotNil(t, p, "job permissions")
			for j := 0; j+1 < len(p.Content); j += 2 {
				assert.NotEmpty(t, p.Content[j+1].LineComment, "a comment on the grant %s", p.Content[j].Value)
				if p.Content[j+1].Value == "write" {
					assert.Contains(t, []string{"packages", "id-token", "deployments"}, p.Content[j].Value)
				}
			}
			if svcs := val(job, "services"); svcs != nil {
				for j := 1; j < len(svcs.Content); j += 2 {
					assert.Regexp(t, `^[^@]+:[^@]+@sha256:[0-9a-f]{64}$`, val(svcs.Content[j], "image").Value, "service image by tag and digest")
					assert.Nil(t, val(svcs.Content[j], "credentials"), "no credentials written into the workflow")
				}
			}
			env := val(job, "environment")
			c := val(job, "concurrency")
			require.NotNil(t, c, "concurrency")
			if strings.HasPrefix(id, "deploy-") {
				require.NotNil(t, env, "a deploy job names its environment")
				assert.Equal(t, "false", val(c, "cancel-in-progress").Value, "a deploy is never cancelled")
				assert.NotContains(t, val(c, "group").Value, "github.ref", "deploys queue per environment")
			}
			var body yaml.Node
			require.NoError(t, body.Encode(job))
			jobText, err := yaml.Marshal(job)
			require.NoError(t, err)
			if strings.Contains(string(jobText), "secrets.") {
				assert.NotNil(t, env, "secrets only in jobs that name an environment")
			}
			for _, m := range needsOutRe.FindAllStringSubmatch(string(jobText), -1) {
				assert.True(t, outputs[m[1]][m[2]], "needs.%s.outputs.%s names an output that job has", m[1], m[2])
			}
			for _, step := range val(job, "steps").Content {
				if run := val(step, "run"); run != nil {
					assert.NotRegexp(t, untrustedRe, run.Value, "untrusted input in run:")
				}
				k, uses := mapping(step, "uses")
				if uses == nil {
					continue
				}
				assert.Regexp(t, usesRe, uses.Value)
				assert.Regexp(t, versionCmt, uses.LineComment+k.LineComment, "version comment on %s", uses.Value)
				with := val(step, "with")
				if strings.HasPrefix(uses.Value, "actions/checkout@") {
					require.NotNil(t, with)
					assert.Equal(t, "false", val(with, "persist-credentials").Value)
				}
				if strings.HasPrefix(uses.Value, DefaultActionRepo+"@") {
					for j := 0; j < len(with.Content); j += 2 {
						assert.True(t, inputs[with.Content[j].Value], "with: %s is an input of action.yml", with.Content[j].Value)
					}
				}
			}
		})
	}
}
