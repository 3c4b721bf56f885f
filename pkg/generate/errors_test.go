package generate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/detect"
)

func TestReadConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, config string
		line         int
		want         []string
	}{
		{"unknown key", "registry: docker.io\ncolour: blue\n", 2, []string{`unknown key "colour"`, "spelling"}},
		{"unknown nested key", "environments:\n  - name: staging\n    approvers: [me]\n", 3, []string{`unknown key "approvers"`}},
		{"wrong type", "registry: docker.io\nenvironments: staging\n", 2, []string{"wrong type", `"staging"`, "a list of environments"}},
		{"wrong type in a list", "tags:\n  - version\n  - {a: b}\n", 3, []string{"wrong type"}},
		{"bad trigger", "environments:\n  - name: staging\n    trigger: nightly\n", 3, []string{`"nightly"`, `"push"`}},
		{"bad action sha", "action:\n  repository: deploy-action/deploy-action\n  version: v1.0.0\n  sha: main\n", 0, []string{"40-hex", "git rev-parse v1.0.0"}},
		{"unknown service image", "service-images:\n  mongodb: mongo:7\n", 2, []string{"postgresql, mysql or redis"}},
		{"unknown service port", "service-ports:\n  mongodb: 27017\n", 2, []string{"postgresql, mysql or redis"}},
		{"service port out of range", "service-ports:\n  postgresql: 70000\n", 2, []string{`"70000"`, "1 to 65535"}},
		{"service port not a number", "service-ports:\n  postgresql: five\n", 2, []string{"wrong type"}},
		{"twice", "environments:\n  - name: a\n  - name: a\n", 3, []string{"listed twice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ReadConfig(strings.NewReader(tc.config), ConfigPath)
			var ie *InputError
			require.True(t, errors.As(err, &ie), "%v", err)
			assert.Equal(t, ConfigPath, ie.File)
			if tc.line > 0 {
				assert.Equal(t, tc.line, ie.Line)
				assert.Contains(t, err.Error(), ConfigPath+":"+strconv.Itoa(tc.line)+": ")
			}
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestGenerateBadInput(t *testing.T) {
	t.Parallel()
	tmplDir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(tmplDir, "deploy.yml.tmpl"), []byte("x"), 0o644))
	cobol := func(root string) detect.Repository {
		return detect.Repository{Root: root, Services: []detect.Service{{Name: "ledger", Dir: "."}}}
	}
	cases := []struct {
		name   string
		repo   func(string) detect.Repository
		over   Overrides
		config string
		field  string
		want   []string
	}{
		{name: "empty repository", repo: func(root string) detect.Repository { return detect.Repository{Root: root} },
			field: "repository", want: []string{"no service to build", "requirements.txt, go.mod"}},
		{name: "unknown language, no override", repo: cobol,
			field: "service ledger", want: []string{"no language was detected", "--language python|go|node|java"}},
		{name: "unknown language override", repo: cobol, over: Overrides{Language: "cobol"},
			field: "flag --language", want: []string{`"cobol"`, "python, go, node or java"}},
		{name: "registry and image conflict", repo: shopRepo, over: Overrides{Registry: "ghcr.io", Image: "docker.io/acme/shop"},
			field: "flags --registry and --image", want: []string{"conflict", "index.docker.io, not ghcr.io"}},
		{name: "config registry and flag image conflict", repo: shopRepo, config: "registry: ghcr.io\n", over: Overrides{Image: "quay.io/acme/shop"},
			field: `key "services.shop.image" and registry`, want: []string{"conflict", "quay.io"}},
		{name: "per-service flag on several services", repo: threeRepo, over: Overrides{TestCommand: "make test"},
			field: "flag --test-command", want: []string{"ambiguous", "api, web, worker", "--service NAME"}},
		{name: "action version without sha", repo: shopRepo, over: Overrides{ActionRef: "v1.2.0"},
			field: "flags --action-version and --action-sha", want: []string{"together"}},
		{name: "template dir missing a template", repo: shopRepo, over: Overrides{Templates: tmplDir},
			field: "flag --templates (config key workflow.templates)", want: []string{"has no jobs.tmpl", "copy templates/workflow/jobs.tmpl"}},
		{name: "template dir absent", repo: shopRepo, over: Overrides{Templates: filepath.Join(tmplDir, "nope")},
			field: "flag --templates (config key workflow.templates)", want: []string{"is not a directory"}},
		{name: "config names no service", repo: shopRepo, config: "services:\n  - name: cart\n", field: `key "services"`, want: []string{"cart", ConfigPath + ":2"}},
		{name: "extra input the generator sets", repo: shopRepo, config: "inputs:\n  deploy:\n    image-map: x\n", field: `key "inputs.deploy.image-map"`, want: []string{"set by the generator", ConfigPath + ":3"}},
		{name: "extra input unknown", repo: shopRepo, config: "inputs:\n  release:\n    colour: blue\n", field: `key "inputs.release.colour"`, want: []string{"not an input of deploy-action", ConfigPath + ":3"}},
		{name: "environments listed twice", repo: shopRepo, over: Overrides{Environments: []string{"prod", "prod"}}, field: "flag --environments", want: []string{"listed twice"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A config error shows when the file is read, the rest when
			// generating.
			var lc *LoadedConfig
			var err error
			if tc.config != "" {
				lc, err = ReadConfig(strings.NewReader(tc.config), ConfigPath)
			}
			if err == nil {
				var names []string
				for k := range actionInputs(t) {
					names = append(names, k)
				}
				var res *Result
				res, err = Generate(context.Background(), tc.repo(t.TempDir()), lc, tc.over, WithActionPin(testPin), WithActionInputs(names))
				assert.Nil(t, res)
			}
			var ie *InputError
			require.True(t, errors.As(err, &ie), "%v", err)
			assert.Equal(t, tc.field, ie.Field)
			assert.NotEmpty(t, ie.Fix, "every error says the fix")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestNoActionPin(t *testing.T) {
	t.Parallel()
	_, err := Generate(context.Background(), shopRepo(t.TempDir()), nil, Overrides{})
	var ie *InputError
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Contains(t, err.Error(), "--action-version vX.Y.Z --action-sha")
}

// TestWriteCheckDiff runs the file lifecycle: a first write, a re-run that
// changes nothing, a hand edit caught by Check and shown by Diff, a foreign
// file kept unless forced, and Check on a repository never generated.
func TestWriteCheckDiff(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	gen := func(over Overrides) *Result {
		lc, err := LoadConfig(root)
		require.NoError(t, err)
		res, err := Generate(context.Background(), shopRepo(root), lc, over, WithActionPin(testPin))
		require.NoError(t, err)
		return res
	}

	res := gen(Overrides{})
	err := Check(root, res.Files)
	require.ErrorIs(t, err, ErrNotGenerated)
	assert.Contains(t, err.Error(), "run `deploy-action generate` first")

	written, err := Write(root, res.Files, false)
	require.NoError(t, err)
	assert.Equal(t, []string{".github/dependabot.yml", ConfigPath, DefaultWorkflowPath}, written)

	// A re-run reads the config it wrote and produces the same bytes.
	res = gen(Overrides{})
	assert.False(t, res.WriteConfig)
	require.NoError(t, Check(root, res.Files))
	written, err = Write(root, res.Files, false)
	require.NoError(t, err)
	assert.Empty(t, written)
	d, err := Diff(root, res.Files)
	require.NoError(t, err)
	assert.Empty(t, d)

	// A hand edit is drift.
	wf := filepath.Join(root, DefaultWorkflowPath)
	data, err := os.ReadFile(wf)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(wf, []byte(strings.Replace(string(data), "timeout-minutes: 20", "timeout-minutes: 90", 1)), 0o644))
	err = Check(root, res.Files)
	var drift *DriftError
	require.True(t, errors.As(err, &drift), "%v", err)
	assert.Equal(t, []string{DefaultWorkflowPath}, drift.Files)
	d, err = Diff(root, res.Files)
	require.NoError(t, err)
	assert.Contains(t, d, "--- a/"+DefaultWorkflowPath+"\n+++ b/"+DefaultWorkflowPath+"\n")
	assert.Contains(t, d, "\n-    timeout-minutes: 90\n+    timeout-minutes: 20\n")

	// A flag changes the config file, which is rewritten with it.
	res = gen(Overrides{Registry: "ghcr.io"})
	assert.True(t, res.WriteConfig)
	assert.Contains(t, res.Overrides, "registry (flag --registry)")
	d, err = Diff(root, res.Files)
	require.NoError(t, err)
	assert.Contains(t, d, "+registry: ghcr.io\n")

	// A file someone else wrote stays, unless forced.
	dep := filepath.Join(root, ".github", "dependabot.yml")
	require.NoError(t, os.WriteFile(dep, []byte("version: 2\nupdates: []\n"), 0o644))
	_, err = Write(root, res.Files, false)
	var foreign *ForeignFileError
	require.True(t, errors.As(err, &foreign), "%v", err)
	assert.Equal(t, ".github/dependabot.yml", foreign.Path)
	assert.Contains(t, err.Error(), "--force")
	after, err := os.ReadFile(wf)
	require.NoError(t, err)
	assert.Contains(t, string(after), "timeout-minutes: 90", "nothing is written when a file is refused")
	_, err = Write(root, res.Files, true)
	require.NoError(t, err)
	require.NoError(t, Check(root, res.Files))
}

func TestRemoteOwner(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, want string }{
		{"https://github.com/Acme-Corp/shop.git", "acme-corp"},
		{"git@github.com:acme/shop.git", "acme"},
		{"https://gitlab.com/acme/shop.git", ""},
	} {
		root := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(root, ".git"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, ".git", "config"), []byte("[core]\n\tbare = false\n[remote \"origin\"]\n\turl = "+tc.url+"\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"), 0o644))
		assert.Equal(t, tc.want, remoteOwner(root), tc.url)
	}
	assert.Empty(t, remoteOwner(t.TempDir()))
}

func TestFilesOptions(t *testing.T) {
	t.Parallel()
	lc, err := ReadConfig(strings.NewReader("registry: ghcr.io\nfiles:\n  parts:\n    monitoring: skip\n  slo:\n    objective: 99.9\n    windw: 30d\n"), ConfigPath)
	require.NoError(t, err)
	_, err = filesOptions(&lc.Files)
	var ie *InputError
	require.True(t, errors.As(err, &ie), "%v", err)
	assert.Equal(t, 7, ie.Line)
	assert.Contains(t, err.Error(), `unknown key "windw" under files.slo`)

	lc, err = ReadConfig(strings.NewReader("files:\n  parts:\n    monitoring: skip\n  port: \"9000\"\n"), ConfigPath)
	require.NoError(t, err)
	o, err := filesOptions(&lc.Files)
	require.NoError(t, err)
	assert.Equal(t, "9000", o.Port)
	assert.EqualValues(t, "skip", o.Parts["monitoring"])
}

// TestConfigRoundTrip: the config file written back keeps every key,
// the files section included.
func TestConfigRoundTrip(t *testing.T) {
	t.Parallel()
	in := "registry: ghcr.io\nenvironments:\n  - name: staging\n    trigger: push\nfiles:\n  parts:\n    monitoring: skip\n"
	lc, err := ReadConfig(strings.NewReader(in), ConfigPath)
	require.NoError(t, err)
	out, err := lc.Config.Marshal()
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(out), in), "%s", out)
}
