package audit_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/audit"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func format(fs []audit.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.Severity.String() + " " + f.String() + "\n")
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	assert.Equal(t, string(read(t, path)), got, "golden %s differs; review and run with -update", path)
}

// pins are the commits of actions/checkout's releases the fixtures use, read from its repository
// (git rev-parse <tag>^{commit}).
func pins(repo, sha string) (string, bool) {
	v, ok := map[string]string{
		"actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1":     "v7.0.1",
		"actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683":     "v4.2.2",
		"actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8":     "v5.0.0",
		"actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97": "v7.0.0",
	}[repo+"@"+sha]
	return v, ok
}

// TestUsualWorkflow audits the workflow most users of the seed write by hand: every problem it has
// is reported once, on its line, with a fix.
func TestUsualWorkflow(t *testing.T) {
	t.Parallel()
	const path = "testdata/usual.yml"
	src := read(t, path)
	fs, err := audit.Workflow(path, src, audit.WithPins(pins))
	require.NoError(t, err)
	golden(t, "testdata/usual.golden", format(fs))

	var rules []string
	for _, f := range fs {
		if !slices.Contains(rules, f.Rule) {
			rules = append(rules, f.Rule)
		}
		assert.NotEmpty(t, f.Fix, "%s has no fix", f)
	}
	slices.Sort(rules)
	assert.Equal(t, []string{
		"artipacked", "concurrency-limits", "deploy-without-test", "excessive-permissions", "long-lived-cloud-keys",
		"mutable-tag-deployed", "no-rollback", "production-without-environment", "secrets-outside-env", "unpinned-uses",
	}, rules)

	// Each finding points at the text it is about.
	lines := strings.Split(string(src), "\n")
	at := map[string]*regexp.Regexp{
		"artipacked":                     regexp.MustCompile(`^actions/checkout@`),
		"unpinned-uses":                  regexp.MustCompile(`^[\w-]+/[\w-]+@v\d+$`),
		"secrets-outside-env":            regexp.MustCompile(`^secrets\.(DOCKERHUB_USERNAME|DOCKERHUB_TOKEN|K8S_CONFIG) }}$`),
		"long-lived-cloud-keys":          regexp.MustCompile(`^secrets\.K8S_CONFIG }}$`),
		"concurrency-limits":             regexp.MustCompile(`^CD:$`),
		"deploy-without-test":            regexp.MustCompile(`^CD:$`),
		"production-without-environment": regexp.MustCompile(`^CD:$`),
		"no-rollback":                    regexp.MustCompile(`^kubectl apply -f k8s/$`),
		"mutable-tag-deployed":           regexp.MustCompile(`^acme/shop:(latest|v\$\{\{ github\.run_number }})$`),
		"excessive-permissions":          regexp.MustCompile(`^# The usual`),
	}
	for _, f := range fs {
		text := lines[f.Line-1][f.Column-1:]
		assert.Regexp(t, at[f.Rule], text, "%s", f)
	}
	errs, warnings := audit.Count(fs)
	assert.Positive(t, errs)
	assert.Positive(t, warnings)
}

// TestHardenedWorkflow: a workflow that does everything right has no finding, actionlint's included.
func TestHardenedWorkflow(t *testing.T) {
	t.Parallel()
	src := read(t, "testdata/hardened.yml")
	fs, err := audit.Workflow("testdata/hardened.yml", src, audit.WithPins(pins))
	require.NoError(t, err)
	assert.Empty(t, fs, format(fs))
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	src := read(t, "testdata/usual.yml")
	first, err := audit.Workflow("usual.yml", src)
	require.NoError(t, err)
	for range 20 {
		again, err := audit.Workflow("usual.yml", src)
		require.NoError(t, err)
		require.Equal(t, format(first), format(again))
	}
}

func TestDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	wf := filepath.Join(root, ".github", "workflows")
	require.NoError(t, os.MkdirAll(filepath.Join(wf, "nested"), 0o755))
	usual := read(t, "testdata/usual.yml")
	hardened := read(t, "testdata/hardened.yml")
	for name, b := range map[string][]byte{
		"ci.yaml": usual, "deploy.yml": hardened, "notes.txt": usual, "nested/other.yml": usual,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(wf, name), b, 0o644))
	}
	fs, err := audit.Dir(root)
	require.NoError(t, err)
	want, err := audit.Workflow(filepath.Join(wf, "ci.yaml"), usual)
	require.NoError(t, err)
	assert.Equal(t, want, fs, "only ci.yaml has findings; notes.txt and nested/ are not workflows")

	_, err = audit.Dir(t.TempDir())
	assert.ErrorIs(t, err, audit.ErrNoWorkflows)
	empty := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(empty, ".github", "workflows"), 0o755))
	_, err = audit.Dir(empty)
	assert.ErrorIs(t, err, audit.ErrNoWorkflows)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	src := read(t, "testdata/usual.yml")
	_, err := audit.Workflow("w.yml", src, audit.WithRules("unpinned-uses", "no-such-rule"))
	require.ErrorIs(t, err, audit.ErrUnknownRule)
	assert.Contains(t, err.Error(), `"no-such-rule"`)

	fs, err := audit.Workflow("w.yml", src, audit.WithRules("no-rollback"), audit.WithActionlint(false))
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, "no-rollback", fs[0].Rule)

	assert.Equal(t, audit.RuleNames(), slices.Sorted(slices.Values(audit.RuleNames())))
	assert.Len(t, audit.Rules(), 20)
}

func TestActionlintFindings(t *testing.T) {
	t.Parallel()
	src := []byte(`on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    needs: [nope]
    steps:
      - run: echo ${{ github.no_such_thing }}
`)
	fs, err := audit.Workflow("w.yml", src)
	require.NoError(t, err)
	var rules []string
	for _, f := range fs {
		rules = append(rules, f.Rule)
		if strings.HasPrefix(f.Rule, audit.ActionlintPrefix) {
			assert.Equal(t, audit.Error, f.Severity)
		}
	}
	assert.Contains(t, rules, "actionlint/job-needs")
	assert.Contains(t, rules, "actionlint/expression")

	fs, err = audit.Workflow("w.yml", src, audit.WithActionlint(false))
	require.NoError(t, err)
	for _, f := range fs {
		assert.NotContains(t, f.Rule, audit.ActionlintPrefix)
	}

	// Not YAML: actionlint's parser says so, with or without its rules.
	for _, on := range []bool{true, false} {
		fs, err = audit.Workflow("w.yml", []byte("on: [push\njobs: {"), audit.WithActionlint(on))
		require.NoError(t, err)
		require.NotEmpty(t, fs)
		assert.Equal(t, "actionlint/syntax-check", fs[0].Rule)
	}
}

// TestNoExternalLinters: actionlint's command runs shellcheck when it is on PATH; in-process, the
// audit never does, so its findings do not depend on the machine.
func TestNoExternalLinters(t *testing.T) {
	bin := t.TempDir()
	ran := filepath.Join(t.TempDir(), "ran")
	for _, tool := range []string{"shellcheck", "pyflakes"} {
		script := "#!/bin/sh\ntouch " + ran + "\necho '[{\"file\":\"-\",\"line\":1,\"column\":1,\"level\":\"error\",\"code\":1000,\"message\":\"planted\"}]'\nexit 1\n"
		require.NoError(t, os.WriteFile(filepath.Join(bin, tool), []byte(script), 0o755))
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	src := []byte("on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo $1\n      - shell: python\n        run: print(x)\n")
	fs, err := audit.Workflow("w.yml", src)
	require.NoError(t, err)
	assert.Empty(t, fs, format(fs))
	assert.NoFileExists(t, ran)
}

func TestSeverityJSON(t *testing.T) {
	t.Parallel()
	f := audit.Finding{File: "w.yml", Line: 3, Column: 5, Rule: "unpinned-uses", Severity: audit.Error, Message: "m", Fix: "f"}
	b, err := json.Marshal(f)
	require.NoError(t, err)
	assert.JSONEq(t, `{"file":"w.yml","line":3,"column":5,"rule":"unpinned-uses","severity":"error","message":"m","fix":"f"}`, string(b))
	var back audit.Finding
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, f, back)
	require.ErrorIs(t, json.Unmarshal([]byte(`{"severity":"fatal"}`), &back), audit.ErrUnknownSeverity)
	_, err = json.Marshal(audit.Finding{})
	require.ErrorIs(t, err, audit.ErrUnknownSeverity)
}
