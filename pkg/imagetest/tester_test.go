package imagetest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/internal/testimage"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

func engine(t *testing.T) *client.Client {
	t.Helper()
	return testenv.Engine(t)
}

func cases(r *imagetest.Report) map[string]imagetest.Case {
	m := map[string]imagetest.Case{}
	for _, c := range r.Cases {
		m[c.Suite+"/"+c.Name] = c
	}
	return m
}

func TestTestPasses(t *testing.T) {
	t.Parallel()
	api := engine(t)
	dir := t.TempDir()
	tests := filepath.Join(dir, "server.yaml")
	require.NoError(t, os.WriteFile(tests, []byte(`schemaVersion: 2.0.0
metadataTest:
  exposedPorts: ["8080"]
fileExistenceTests:
  - {name: server, path: /server, isExecutableBy: any}
commandTests:
  - {name: crash exits 3, command: /server, args: [crash], exitCode: 3, expectedError: ['cannot connect']}
`), 0o644))
	run := sandbox.NewRunID()
	var log bytes.Buffer
	tester, err := imagetest.New(imagetest.Config{
		StructureTests: []string{tests},
		Smoke: smoke.Config{
			ReadyPath: "/ready", GracePeriod: 5 * time.Second, Timeout: 30 * time.Second,
			TestCommand: []string{"/server", "probe", "http://app:8080/ready"},
		},
		SmokeMode: imagetest.SmokeOn,
	}, imagetest.WithDockerClient(api), imagetest.WithRunID(run), imagetest.WithLog(&log))
	require.NoError(t, err)
	defer tester.Close()

	rep, err := tester.Test(t.Context(), testimage.Server(t), "")
	require.NoError(t, err)
	t.Log(log.String())
	t.Log(rep.Text())
	assert.False(t, rep.Failed(), rep.Text())
	got := cases(rep)
	for _, name := range []string{"policy/user", "policy/secrets", "policy/exec", "policy/labels", "structure/server.yaml: metadata",
		"structure/server.yaml: server", "structure/server.yaml: crash exits 3", "smoke/image becomes ready", "smoke/test command passes",
		"smoke/image stops on its stop signal"} {
		assert.Equal(t, imagetest.Pass, got[name].Status, "%s: %s", name, got[name].Message)
	}
	assert.Contains(t, log.String(), "loaded the image into the engine", "one load serves the command tests and the smoke run")
	assert.Equal(t, 1, strings.Count(log.String(), "loaded the image"))
	left, err := sandbox.Leftovers(context.Background(), api, run)
	require.NoError(t, err)
	assert.Empty(t, left)
}

func TestTestFailures(t *testing.T) {
	t.Parallel()
	api := engine(t)

	t.Run("image not in the engine", func(t *testing.T) {
		t.Parallel()
		tester, err := imagetest.New(imagetest.Config{SmokeMode: imagetest.SmokeOn, Policy: policy.Config{Modes: map[policy.Check]policy.Mode{policy.Secrets: policy.Off}}},
			imagetest.WithDockerClient(api))
		require.NoError(t, err)
		rep, err := tester.Test(t.Context(), testimage.Server(t), "deploy-action-test/missing:"+sandbox.NewRunID())
		require.NoError(t, err)
		assert.True(t, rep.Failed())
		c := cases(rep)["smoke/smoke run"]
		assert.Equal(t, imagetest.Error, c.Status)
		assert.Contains(t, c.Message, "is not in the engine's store; build it first")
		assert.Equal(t, imagetest.Pass, cases(rep)["policy/user"].Status, "the daemonless checks still run")
	})

	t.Run("no engine, auto", func(t *testing.T) {
		t.Parallel()
		inputs := field.Map(map[string]string{imagetest.FieldDockerHost: `input "docker-host"`, imagetest.FieldSmokeMode: `input "smoke"`})
		tester, err := imagetest.New(imagetest.Config{}, imagetest.WithDockerHost("unix:///nonexistent/docker.sock"), imagetest.WithFieldNames(inputs))
		require.NoError(t, err)
		rep, err := tester.Test(t.Context(), testimage.Server(t), "")
		require.NoError(t, err)
		c := cases(rep)["smoke/smoke run"]
		assert.Equal(t, imagetest.Skip, c.Status)
		assert.Contains(t, c.Message, "no Docker engine answers at unix:///nonexistent/docker.sock")
		assert.Contains(t, c.Message, `start dockerd, or set input "docker-host"`)
		assert.Contains(t, c.Message, `set input "smoke" to false to leave it out`)
		assert.False(t, rep.Failed())
	})

	t.Run("no engine, on", func(t *testing.T) {
		t.Parallel()
		tester, err := imagetest.New(imagetest.Config{SmokeMode: imagetest.SmokeOn}, imagetest.WithDockerHost("unix:///nonexistent/docker.sock"))
		require.NoError(t, err)
		rep, err := tester.Test(t.Context(), testimage.Server(t), "")
		require.NoError(t, err)
		assert.Equal(t, imagetest.Error, cases(rep)["smoke/smoke run"].Status)
		assert.True(t, rep.Failed())
	})

	t.Run("bad settings name their fields", func(t *testing.T) {
		t.Parallel()
		var fe *field.Error
		_, err := imagetest.New(imagetest.Config{SmokeMode: "sometimes"})
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, imagetest.FieldSmokeMode, fe.Field)
		assert.EqualError(t, fe.Err, `"sometimes" is not auto, true or false`)
		_, err = imagetest.New(imagetest.Config{}, imagetest.WithDockerHost(""))
		require.ErrorAs(t, err, &fe)
		assert.Equal(t, imagetest.FieldDockerHost, fe.Field)
	})

	t.Run("invalid structure file", func(t *testing.T) {
		t.Parallel()
		p := filepath.Join(t.TempDir(), "bad.yaml")
		require.NoError(t, os.WriteFile(p, []byte("schemaVersion: 2.0.0\ncommandTests:\n  - name: x\n    command: ls\n    exitcode: 1\n"), 0o644))
		_, err := imagetest.New(imagetest.Config{StructureTests: []string{p}, SmokeMode: imagetest.SmokeOff})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "bad.yaml:5: commandTests[0].exitcode: unknown field")
	})
}
