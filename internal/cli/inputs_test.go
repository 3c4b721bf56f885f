package cli

import (
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInputsTable(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	groups := map[string]bool{"run": true, "build": true, "tag": true, "test": true, "push": true, "deploy": true}
	for _, in := range inputs {
		assert.False(t, seen[in.name], "input %s twice", in.name)
		seen[in.name] = true
		assert.NotEmpty(t, in.usage, in.name)
		assert.True(t, groups[in.group], "input %s: unknown group %q", in.name, in.group)
	}
	// The stages' groups stand in pipeline order, as action.yml lists them.
	var order []string
	for _, in := range inputs {
		if len(order) == 0 || order[len(order)-1] != in.group {
			order = append(order, in.group)
		}
	}
	assert.Equal(t, []string{"run", "build", "tag", "test", "push", "deploy"}, order)
}

func TestListInputs(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	v := addInputs(fs, "tags", "build-args", "junit", "no-cache")
	assert.Equal(t, []string{"auto"}, v.list("tags"), "the default")
	require.NoError(t, fs.Parse([]string{"--tags", "version, latest\nsha", "--tags", "run",
		"--build-args", "A=1,2\nB=3", "--junit", " report.xml ", "--no-cache"}))
	assert.Equal(t, []string{"version", "latest", "sha", "run"}, v.list("tags"), "an explicit value replaces the default; flags add up")
	assert.Equal(t, []string{"A=1,2", "B=3"}, v.list("build-args"), "lines keep their commas")
	assert.Equal(t, "report.xml", v.str("junit"))
	assert.True(t, v.boolean("no-cache"))
	assert.Equal(t, "version\nlatest\nsha\nrun", v.text("tags"))
	assert.Empty(t, v.text("images"), "an input the command does not have")

	kv, err := v.keyValues("build-args")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "1,2", "B": "3"}, kv)
}

func TestKeyValuesRefused(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	v := addInputs(fs, "labels")
	require.NoError(t, fs.Parse([]string{"--labels", "org.example=1\nnot a pair"}))
	_, err := v.keyValues("labels")
	assert.EqualError(t, err, `input "labels": "not a pair" is not KEY=VALUE; write one KEY=VALUE per line`)
}

func TestFromActions(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	v := addInputs(fs, "version", "tags", "no-cache")
	require.NoError(t, fs.Parse([]string{"--version", "1.2.3"}))
	actions := map[string]string{"version": "9.9.9", "tags": "latest\nsha", "no-cache": "true"}
	require.NoError(t, v.fromActions(func(k string) string { return actions[k] }))
	assert.Equal(t, "1.2.3", v.str("version"), "a flag on the command line wins over the action input")
	assert.Equal(t, []string{"latest", "sha"}, v.list("tags"))
	assert.True(t, v.boolean("no-cache"))

	fs = pflag.NewFlagSet("x", pflag.ContinueOnError)
	v = addInputs(fs, "no-cache")
	err := v.fromActions(func(string) string { return "maybe" })
	assert.ErrorContains(t, err, `input "no-cache"`)
}

func TestPositiveDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"": 0, "90s": 90 * time.Second, " 2m ": 2 * time.Minute} {
		got, err := positiveDuration("test-timeout", in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"ten", "0s", "-1s"} {
		_, err := positiveDuration("test-timeout", bad)
		assert.ErrorContains(t, err, `input "test-timeout": "`+bad+`" is not a positive duration`, bad)
	}
}
