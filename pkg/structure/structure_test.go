package structure_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/internal/testimage"
	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
	"github.com/deploy-action/deploy-action/pkg/structure"
)

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		line       int
		field      string
		msg        string
	}{
		{"empty", "", 0, "", "the file is empty"},
		{"syntax", "schemaVersion: 2.0.0\ncommandTests:\n  - name: [\n", 3, "", "check the YAML syntax"},
		{"no schema", "commandTests:\n  - name: a\n    command: ls\n", 1, "schemaVersion", `missing; start the file with schemaVersion: "2.0.0"`},
		{"old schema", "schemaVersion: 1.0.0\ncommandTests: []\n", 1, "schemaVersion", `"1.0.0" is not supported`},
		{"no tests", "schemaVersion: 2.0.0\n", 0, "", "the file has no tests"},
		{"unknown top field", "schemaVersion: 2.0.0\ncommandTest:\n  - name: a\n", 2, "commandTest", "unknown field; the fields here are schemaVersion, globalEnvVars, commandTests"},
		{"unknown nested field", "schemaVersion: 2.0.0\ncommandTests:\n  - name: a\n    command: ls\n    expectedOutputs: [x]\n", 5, "commandTests[0].expectedOutputs", "unknown field; the fields here are name, setup"},
		{"wrong type", "schemaVersion: 2.0.0\ncommandTests:\n  - name: a\n    command: ls\n    exitCode: zero\n", 5, "commandTests[0].exitCode", "expected a whole number"},
		{"list expected", "schemaVersion: 2.0.0\ncommandTests:\n  name: a\n", 3, "commandTests", "expected a list"},
		{"missing name", "schemaVersion: 2.0.0\nfileExistenceTests:\n  - path: /x\n", 3, "fileExistenceTests[0].name", "missing; give every test a name"},
		{"missing command", "schemaVersion: 2.0.0\ncommandTests:\n  - name: a\n    command: ls\n  - name: b\n    args: [x]\n", 5, "commandTests[1].command", `missing in test "b"`},
		{"bad regex", "schemaVersion: 2.0.0\nfileContentTests:\n  - name: conf\n    path: /etc/x\n    expectedContents: ['(unclosed']\n", 3, "fileContentTests[0].expectedContents[0]", `"(unclosed" is not a regular expression`},
		{"bad permissions", "schemaVersion: 2.0.0\nfileExistenceTests:\n  - name: x\n    path: /x\n    permissions: '0755'\n", 3, "fileExistenceTests[0].permissions", `"0755" is not a mode as ls shows it`},
		{"bad executable", "schemaVersion: 2.0.0\nfileExistenceTests:\n  - name: x\n    path: /x\n    isExecutableBy: everyone\n", 3, "fileExistenceTests[0].isExecutableBy", `"everyone" is not one of owner, group, other, any`},
		{"empty setup", "schemaVersion: 2.0.0\ncommandTests:\n  - name: a\n    command: ls\n    setup: [[]]\n", 3, "commandTests[0].setup[0]", "is empty"},
		{"license tests", "schemaVersion: 2.0.0\nlicenseTests:\n  - debian: true\n", 2, "licenseTests", "license tests are not supported"},
		{"privileged", "schemaVersion: 2.0.0\ncontainerRunOptions:\n  privileged: true\ncommandTests:\n  - {name: a, command: ls}\n", 3, "containerRunOptions.privileged", "is not supported"},
		{"duplicate names", "schemaVersion: 2.0.0\ncommandTests:\n  - {name: a, command: ls}\n  - {name: a, command: ls}\n", 0, "commandTests", `the name "a" is used by 2 tests`},
		{"duplicate key", "schemaVersion: 2.0.0\ncommandTests:\n  - name: a\n    command: ls\n    command: cat\n", 5, "commandTests[0].command", "is set twice; keep one"},
		{"not a mapping", "- schemaVersion: 2.0.0\n", 1, "", "expected a mapping of schemaVersion, globalEnvVars"},
		{"wrong type in a flow list", "schemaVersion: 2.0.0\nfileExistenceTests:\n  - {name: a, path: /x, uid: root}\n", 3, "fileExistenceTests[0].uid", `found "root"; expected a whole number`},
		{"setup not a list of lists", "schemaVersion: 2.0.0\ncommandTests:\n  - name: a\n    command: ls\n    setup: [mkdir]\n", 5, "commandTests[0].setup[0]", `found "mkdir"; expected a list of strings`},
		{"label without key", "schemaVersion: 2.0.0\nmetadataTest:\n  labels:\n    - value: x\n", 4, "metadataTest.labels[0].key", "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := structure.Parse("tests.yaml", []byte(tc.yaml))
			require.Error(t, err)
			var pe *structure.ParseError
			require.True(t, errors.As(err, &pe), "%v", err)
			assert.Equal(t, tc.line, pe.Line, err.Error())
			assert.Equal(t, tc.field, pe.Field, err.Error())
			assert.Contains(t, pe.Msg, tc.msg)
			assert.Contains(t, err.Error(), "structure test tests.yaml")
		})
	}
}

func TestParseFullFile(t *testing.T) {
	t.Parallel()
	f, err := structure.Parse("full.yaml", []byte(`schemaVersion: "2.0.0"
globalEnvVars:
  - key: MODE
    value: test
commandTests:
  - name: version
    command: python3
    args: ["--version"]
    expectedOutput: ['Python 3\.\d+']
    exitCode: 0
fileExistenceTests:
  - name: app
    path: /app
    shouldExist: true
    permissions: drwxr-xr-x
    uid: 0
    gid: 0
  - name: no shell history
    path: /root/.bash_history
    shouldExist: false
fileContentTests:
  - name: passwd
    path: /etc/passwd
    expectedContents: ['shop:x:10001']
metadataTest:
  envVars:
    - key: PATH
      value: /usr/.*
      isRegex: true
  exposedPorts: ["8000"]
  entrypoint: ["python3", "-m", "shop"]
  cmd: ["serve"]
  workdir: /app
  user: "10001:10001"
  labels:
    - key: org.opencontainers.image.title
      value: shop
`))
	require.NoError(t, err)
	assert.Equal(t, 5, f.Tests())
	assert.Equal(t, 6, f.CommandTests[0].Line)
	assert.Equal(t, 3, f.GlobalEnvVars[0].Line)
	assert.Equal(t, 12, f.FileExistenceTests[0].Line)
	assert.Equal(t, 18, f.FileExistenceTests[1].Line)
	assert.Equal(t, 22, f.FileContentTests[0].Line)
	assert.Equal(t, 27, f.MetadataTest.EnvVars[0].Line)
	assert.Equal(t, 36, f.MetadataTest.Labels[0].Line)
	require.NotNil(t, f.FileExistenceTests[1].ShouldExist)
	assert.False(t, *f.FileExistenceTests[1].ShouldExist)
	assert.Nil(t, f.FileExistenceTests[1].UID, "uid left out is not checked")
	assert.Equal(t, []string{"python3", "-m", "shop"}, *f.MetadataTest.Entrypoint)
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := structure.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "list container-structure-test files that exist")
}

// image is the test server plus a few files to check.
func image(t *testing.T) v1.Image {
	t.Helper()
	img := testimage.Server(t, "APP_HOME=/app")
	img, err := mutate.AppendLayers(img, testimage.Layer(t,
		testimage.File{Path: "/app", Dir: true, UID: 10001, GID: 10001},
		testimage.File{Path: "/app/app.conf", Content: "listen = 8080\ndebug = false\n", UID: 10001, GID: 10001, Mode: 0o640},
		testimage.File{Path: "/app/current", Link: "app.conf"},
		testimage.File{Path: "/app/old.conf", Content: "x"},
	), testimage.Layer(t, testimage.File{Path: "/app/old.conf", Whiteout: true}))
	require.NoError(t, err)
	return img
}

func TestRunDaemonless(t *testing.T) {
	t.Parallel()
	f, err := structure.Parse("files.yaml", []byte(`schemaVersion: 2.0.0
fileExistenceTests:
  - {name: conf, path: $APP_HOME/app.conf, permissions: -rw-r-----, uid: 10001, gid: 10001}
  - {name: server runs, path: /server, isExecutableBy: any}
  - {name: deleted file, path: /app/old.conf, shouldExist: false}
  - {name: link, path: /app/current, permissions: Lrwxrwxrwx}
  - {name: wrong owner, path: /app/app.conf, uid: 0}
  - {name: missing, path: /etc/missing}
  - {name: conf not executable, path: /app/app.conf, isExecutableBy: owner}
fileContentTests:
  - {name: through link, path: /app/current, expectedContents: ['listen = \d+'], excludedContents: ['debug = true']}
  - {name: wrong content, path: /app/app.conf, expectedContents: ['listen = 80$'], excludedContents: ['debug']}
  - {name: unreadable, path: /app}
metadataTest:
  envVars: [{key: APP_HOME, value: /app}, {key: MISSING, value: x}]
  exposedPorts: ["8080"]
  unexposedPorts: ["22"]
  entrypoint: ["/server"]
  cmd: ["serve", "extra"]
  user: "65534:65534"
  labels: [{key: org.opencontainers.image.revision, value: '^[0-9a-f]{40}$', isRegex: true}]
`))
	require.NoError(t, err)
	r, err := structure.New([]*structure.File{f})
	require.NoError(t, err)
	assert.False(t, r.NeedsEngine())
	res, err := r.Run(context.Background(), image(t), "")
	require.NoError(t, err)
	got := map[string][]string{}
	for _, tr := range res.Tests {
		got[tr.Name] = tr.Errors
		assert.Equal(t, len(tr.Errors) == 0, tr.Passed, tr.Name)
		assert.Equal(t, "files.yaml", tr.File)
	}
	assert.Equal(t, map[string][]string{
		"conf":                nil,
		"server runs":         nil,
		"deleted file":        nil,
		"link":                nil,
		"wrong owner":         {"/app/app.conf is owned by UID 10001, expected 0"},
		"missing":             {"/etc/missing does not exist"},
		"conf not executable": {"/app/app.conf (mode -rw-r-----) is not executable by owner"},
		"through link":        nil,
		"wrong content":       {`/app/app.conf does not match "listen = 80$"`, `/app/app.conf matches "debug", expected not`},
		"unreadable":          {"cannot read /app: /app is not a regular file"},
		"metadata":            {"variable MISSING is not in the image's environment", `cmd is ["serve"], expected ["serve" "extra"]`},
	}, got)
	assert.True(t, res.Failed())
}

func engine(t *testing.T) *client.Client {
	t.Helper()
	return testenv.Engine(t)
}

func TestRunCommands(t *testing.T) {
	t.Parallel()
	api := engine(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "test.env"), []byte("# settings\nFROM_FILE=yes\n"), 0o644))
	path := filepath.Join(dir, "commands.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`schemaVersion: 2.0.0
globalEnvVars:
  - {key: GLOBAL, value: g}
containerRunOptions:
  envFile: test.env
  envVars: [FROM_HOST]
commandTests:
  - name: exit code and output
    command: /server
    args: [exit, "3"]
    exitCode: 3
    expectedOutput: ['to stdout']
    expectedError: ['to stderr']
    excludedOutput: ['to stderr']
  - name: setup is kept
    setup: [["/server", "write", "/tmp/marker", "made by setup"]]
    command: /server
    args: [cat, /tmp/marker]
    expectedOutput: ['^made by setup$']
  - name: environment
    envVars: [{key: LOCAL, value: l}]
    command: /server
    args: [env, "${APP_HOME}"]
    expectedOutput: ['^=$']
  - name: env file and host
    command: /server
    args: [env, FROM_FILE]
    expectedOutput: ['FROM_FILE=yes']
  - name: fails
    command: /server
    args: [exit, "1"]
    expectedOutput: ['never printed']
  - name: missing program
    command: /bin/missing
`), 0o644))
	files, err := structure.Load(path)
	require.NoError(t, err)
	run := sandbox.NewRunID()
	r, err := structure.New(files, structure.WithDockerClient(api), structure.WithRunID(run),
		structure.WithGetenv(func(k string) string { return map[string]string{"FROM_HOST": "h"}[k] }))
	require.NoError(t, err)
	require.True(t, r.NeedsEngine())
	res, err := r.Run(t.Context(), image(t), "")
	require.NoError(t, err)
	left, err := sandbox.Leftovers(context.Background(), api, run)
	require.NoError(t, err)
	assert.Empty(t, left, "command tests leave no container or image behind")

	byName := map[string]structure.TestResult{}
	for _, tr := range res.Tests {
		byName[tr.Name] = tr
	}
	require.Len(t, byName, 6)
	for _, n := range []string{"exit code and output", "setup is kept", "env file and host"} {
		assert.True(t, byName[n].Passed, "%s: %v\nstdout: %s\nstderr: %s", n, byName[n].Errors, byName[n].Stdout, byName[n].Stderr)
	}
	// ${APP_HOME} is replaced from the image's environment before the command runs.
	assert.Equal(t, "/app=\n", byName["environment"].Stdout)
	assert.Equal(t, []string{"exited with code 1, expected 0", `stdout does not match "never printed"`}, byName["fails"].Errors)
	require.Len(t, byName["missing program"].Errors, 1)
	assert.Contains(t, byName["missing program"].Errors[0], `the engine could not start ["/bin/missing"]`)
	assert.True(t, res.Failed())
}

func FuzzParse(f *testing.F) {
	f.Add("schemaVersion: 2.0.0\ncommandTests:\n  - {name: a, command: ls, args: [-l], expectedOutput: ['x.*']}\n")
	f.Add("schemaVersion: 2.0.0\nfileExistenceTests:\n  - {name: a, path: /x, permissions: -rw-r--r--, uid: 0}\nmetadataTest: {cmd: [a], labels: [{key: k, value: v}]}\n")
	f.Add("schemaVersion: 2.0.0\nmetadataTest:\n  envVars: &e [{key: A, value: b}]\n  env: *e\n")
	f.Fuzz(func(t *testing.T, text string) {
		file, err := structure.Parse("fuzz.yaml", []byte(text))
		if err != nil {
			var pe *structure.ParseError
			assert.True(t, errors.As(err, &pe), "every error is a ParseError: %v", err)
			return
		}
		assert.Equal(t, structure.SchemaVersion, file.SchemaVersion)
		assert.Positive(t, file.Tests())
	})
}
