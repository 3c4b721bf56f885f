package e2e

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/detect"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/scaffold"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

// standins makes (or finds, by recipe) the local stand-ins of the public base
// images the generated Dockerfiles name, which cannot be pulled here.
func standins(t *testing.T, names ...string) map[string]string {
	t.Helper()
	requireImage(t, "debian:trixie-slim")
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(testenv.RepoRoot(t), "hack", "standin-bases.sh"), names...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+testenv.DockerHost(t))
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("hack/standin-bases.sh: %v\n%s", err, ee.Stderr)
	}
	require.NoError(t, err)
	images := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if name, image, ok := strings.Cut(sc.Text(), " "); ok {
			images[name] = image
		}
	}
	return images
}

// generatedContext copies a fixture repository and writes the generated
// Dockerfile and .dockerignore into the copy; it returns the copy.
func generatedContext(t *testing.T, fixture string) string {
	t.Helper()
	src := filepath.Join(testenv.RepoRoot(t), "e2e", "testdata", "repos", fixture)
	repo, err := detect.Detect(t.Context(), src)
	require.NoError(t, err)
	require.Len(t, repo.Services, 1)
	files, err := scaffold.Files(repo, repo.Services[0], scaffold.Options{})
	require.NoError(t, err)
	dst := t.TempDir()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	n := 0
	for _, f := range files {
		if f.Part == scaffold.Dockerfile {
			require.NoError(t, os.WriteFile(filepath.Join(dst, filepath.FromSlash(f.Path)), f.Content, 0o644))
			n++
		}
	}
	require.Equal(t, 2, n, "a Dockerfile and a .dockerignore")
	return dst
}

func buildGenerated(t *testing.T, dir string, args map[string]string, tag string) error {
	t.Helper()
	host := testenv.DockerHost(t)
	for k, v := range map[string]string{"VERSION": "1.0.0", "REVISION": "0123456789abcdef0123456789abcdef01234567", "SOURCE": "https://github.com/acme/" + tag} {
		args[k] = v
	}
	var log strings.Builder
	b, err := dockerfile.New(dockerfile.Request{ContextDir: dir, BuildArgs: args, Tag: tag}, dockerfile.WithHost(host), dockerfile.WithProgress(&log))
	require.NoError(t, err)
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	_, err = b.Build(ctx)
	t.Logf("build of %s (%s):\n%s", tag, time.Since(start).Round(100*time.Millisecond), log.String())
	if err == nil {
		t.Cleanup(func() {
			rm := exec.Command(debianDocker, "image", "rm", tag)
			rm.Env = append(os.Environ(), "DOCKER_HOST="+host)
			_ = rm.Run()
		})
	}
	return err
}

// TestGeneratedDockerfilesBuildAndPass builds the Dockerfiles generated for the
// Go and Node fixtures through BuildKit, on stand-in bases passed as build
// arguments (the modules and npm packages come from their real registries),
// and runs deploy-action's image test on each: policy checks, then a smoke run
// against PostgreSQL with a health check and the SIGTERM check.
func TestGeneratedDockerfilesBuildAndPass(t *testing.T) {
	base := standins(t, "golang", "node")
	api, err := client.New(client.WithHost(testenv.DockerHost(t)))
	require.NoError(t, err)
	defer api.Close()
	run := "scaffold-" + randomHex(t, 4)
	pg := buildImagetestImages(t.Context(), t, run, false).postgres
	password := randomHex(t, 8)
	db := smoke.Service{Name: "db", Image: pg,
		Env: map[string]string{"POSTGRES_USER": "app", "POSTGRES_PASSWORD": password, "POSTGRES_DB": "app"}}
	dbURL := "postgres://app:" + password + "@db:5432/app?sslmode=disable"

	for _, tc := range []struct {
		fixture string
		args    map[string]string
	}{
		{"go-service", map[string]string{"BUILD_IMAGE": base["golang"], "RUNTIME_IMAGE": "debian:trixie-slim"}},
		{"node-service", map[string]string{"BUILD_IMAGE": base["node"], "RUNTIME_IMAGE": base["node"]}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			tag := "deploy-action-e2e/" + run + "-" + tc.fixture
			require.NoError(t, buildGenerated(t, generatedContext(t, tc.fixture), tc.args, tag))
			rep := testImage(t.Context(), t, api, imagetest.Config{
				SmokeMode: imagetest.SmokeOn,
				Smoke: smoke.Config{
					Services:    []smoke.Service{db},
					Env:         map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": "redis://cache:6379/0"},
					ReadyPath:   "/healthz",
					GracePeriod: 10 * time.Second,
					Timeout:     90 * time.Second,
				},
			}, tag)
			assert.False(t, rep.Failed(), rep.Text())
			stop := caseOf(t, rep, "smoke", "image stops on its stop signal")
			assert.Equal(t, imagetest.Pass, stop.Status, stop.Message)
			for _, c := range rep.Cases {
				assert.Equal(t, imagetest.Pass, c.Status, "%s/%s: %s", c.Suite, c.Name, c.Message)
			}
		})
	}
}

// TestGeneratedPythonDockerfileBuildsToPip builds the Dockerfile generated for
// the Flask fixture as far as this machine allows: PyPI cannot be reached, so
// the build must get through the base and the virtual environment and stop
// exactly at the pip install of the requirements, and nowhere else.
func TestGeneratedPythonDockerfileBuildsToPip(t *testing.T) {
	base := standins(t, "python")
	dir := generatedContext(t, "flask-src")
	err := buildGenerated(t, dir, map[string]string{"BUILD_IMAGE": base["python"], "RUNTIME_IMAGE": base["python"]},
		"deploy-action-e2e/scaffold-flask-"+randomHex(t, 4))
	var se *dockerfile.StepError
	require.ErrorAs(t, err, &se, "the build stops at a step: %v", err)
	assert.Contains(t, se.Step, "pip install -r requirements.txt", se.Error())
	assert.Equal(t, "deps", se.Stage, se.Error())
}
