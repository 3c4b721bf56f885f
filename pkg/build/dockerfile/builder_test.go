package dockerfile

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
)

// baseImage is made from debootstrap by the setup script; nothing is pulled.
const baseImage = "debian:trixie-slim"

// testEngine returns a client for the test's Docker engine, or stops the test.
func testEngine(t testing.TB) (string, *client.Client) {
	t.Helper()
	return testenv.DockerHost(t), testenv.Engine(t)
}

// requireBase stops the test when the local base image is missing.
func requireBase(t testing.TB, api *client.Client) {
	t.Helper()
	_, err := api.ImageInspect(context.Background(), baseImage)
	testenv.Require(t, err == nil, "the local image "+baseImage,
		"run `make setup` (hack/setup.sh), which makes it with debootstrap and `docker import`")
}

// logWriter sends the build log to the test log, line by line.
type logWriter struct {
	t   testing.TB
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	return w.buf.Write(p)
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// build builds req in the test engine and removes the image from the engine
// at the end of the test.
func buildImage(t *testing.T, req Request, opts ...Option) (*Image, *logWriter, error) {
	t.Helper()
	host, api := testEngine(t)
	log := &logWriter{t: t}
	opts = append([]Option{WithHost(host), WithProgress(log), WithTempDir(t.TempDir())}, opts...)
	b, err := New(req, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	img, err := b.Build(context.Background())
	if err != nil {
		return nil, log, err
	}
	out := img.(*Image)
	t.Cleanup(func() {
		_, _ = api.ImageRemove(context.Background(), out.ID(), client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return out, log, nil
}

// files flattens the image and returns the content of the regular files
// whose paths start with one of the prefixes.
func files(t *testing.T, img v1.Image, prefixes ...string) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	out := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		name := "/" + strings.TrimPrefix(hdr.Name, "./")
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) && hdr.Typeflag == tar.TypeReg {
				b, err := io.ReadAll(tr)
				require.NoError(t, err)
				out[name] = string(b)
			}
		}
	}
	return out
}

func randomID(t testing.TB) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func TestBuildDebian(t *testing.T) {
	t.Parallel()
	_, api := testEngine(t)
	requireBase(t, api)

	dir := t.TempDir()
	cacheID := "deploy-action-test-" + randomID(t)
	writeFiles(t, dir, map[string]string{
		"Dockerfile": `FROM ` + baseImage + ` AS base
ARG GREETING=hello
ENV GREETING=${GREETING}
RUN --mount=type=cache,id=` + cacheID + `,target=/cache \
    echo "$GREETING" >> /cache/log && wc -l < /cache/log > /runs && echo "$GREETING" > /greeting.txt

FROM base AS app
LABEL from.dockerfile=yes
COPY . /ctx/
CMD ["cat", "/ctx/app.txt"]

FROM app AS broken
RUN echo "this stage is past the target and must not run" && exit 1
`,
		"app.txt":       "the app\n",
		"sub/data.txt":  "data\n",
		"secret.txt":    "do not ship\n",
		".dockerignore": "secret.txt\n",
	})
	req := Request{
		ContextDir: dir,
		Target:     "app",
		BuildArgs:  map[string]string{"GREETING": "bonjour"},
		Labels:     map[string]string{"org.opencontainers.image.source": "https://example.com/shop"},
		Tag:        "deploy-action-test/debian:" + randomID(t),
	}
	img, log, err := buildImage(t, req)
	require.NoError(t, err)
	require.NoError(t, validate.Image(img))

	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, "yes", cf.Config.Labels["from.dockerfile"])
	assert.Equal(t, "https://example.com/shop", cf.Config.Labels["org.opencontainers.image.source"])
	assert.Contains(t, cf.Config.Env, "GREETING=bonjour")
	assert.Equal(t, []string{"cat", "/ctx/app.txt"}, cf.Config.Cmd)

	mt, err := img.MediaType()
	require.NoError(t, err)
	assert.Equal(t, types.OCIManifestSchema1, mt)

	got := files(t, img, "/greeting.txt", "/runs", "/ctx/")
	assert.Equal(t, map[string]string{
		"/greeting.txt":      "bonjour\n",
		"/runs":              "1\n",
		"/ctx/Dockerfile":    got["/ctx/Dockerfile"],
		"/ctx/app.txt":       "the app\n",
		"/ctx/sub/data.txt":  "data\n",
		"/ctx/.dockerignore": "secret.txt\n",
	}, got, ".dockerignore must keep secret.txt out")
	assert.Contains(t, log.String(), "RUN --mount=type=cache")

	// The engine knows the image by its tag.
	inspect, err := api.ImageInspect(context.Background(), req.Tag)
	require.NoError(t, err)
	assert.Equal(t, img.ID(), inspect.ID)

	// A second build with another argument runs the RUN again, and finds
	// what the first one left in the cache mount.
	req.BuildArgs = map[string]string{"GREETING": "hola"}
	img2, _, err := buildImage(t, req)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"/greeting.txt": "hola\n", "/runs": "2\n"}, files(t, img2, "/greeting.txt", "/runs"))

	// The same request again is all cached; with NoCache, nothing is.
	_, log, err = buildImage(t, req)
	require.NoError(t, err)
	assert.Regexp(t, `(?m)^\[app 1/1\] COPY . /ctx/  CACHED$`, log.String())
	// The FROM of a local base image may still say CACHED (there is nothing
	// to pull); every step that builds must run again.
	req.NoCache = true
	_, log, err = buildImage(t, req)
	require.NoError(t, err)
	assert.NotRegexp(t, `(?m)^\[[^\]]+\] (RUN|COPY) .*CACHED$`, log.String())
	assert.Regexp(t, `(?m)^\[app 1/1\] COPY . /ctx/  [0-9.]+m?s$`, log.String())
}

func TestBuildFailingStep(t *testing.T) {
	t.Parallel()
	_, api := testEngine(t)
	requireBase(t, api)

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"build.Dockerfile": `FROM ` + baseImage + `
RUN echo preparing
RUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do echo "line $i"; done; \
    echo "make: *** No rule to make target 'all'.  Stop." >&2; exit 2
`})
	_, log, err := buildImage(t, Request{ContextDir: dir, Dockerfile: filepath.Join(dir, "build.Dockerfile")})
	require.Error(t, err)
	var se *StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 2, se.ExitCode)
	assert.True(t, strings.HasPrefix(se.Step, "RUN for i in 1 2 3"), se.Step)
	// stdout and stderr come through separate pipes: where the stderr line
	// falls among the others is up to the engine, but it is there.
	assert.GreaterOrEqual(t, len(se.Output), tailLines)
	assert.Contains(t, se.Output, "make: *** No rule to make target 'all'.  Stop.")
	assert.Contains(t, se.Output, "line 25")
	assert.NotContains(t, se.Output, "line 1")

	msg := err.Error()
	t.Log(msg)
	assert.True(t, strings.HasPrefix(msg, `building Dockerfile: step "RUN for i in 1 2 3`), msg)
	assert.Contains(t, msg, "failed (exit code 2")
	assert.Contains(t, msg, "No rule to make target")
	assert.Contains(t, log.String(), "ERROR after")
	assert.Contains(t, log.String(), "  | make: *** No rule")
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	_, api := testEngine(t)
	requireBase(t, api)

	for _, tc := range []struct {
		name       string
		dockerfile string
		want       []string
	}{
		{
			name:       "missing file in COPY",
			dockerfile: "FROM scratch\nCOPY nothere.txt /\n",
			want:       []string{`building Dockerfile: step "COPY nothere.txt /" failed`, "nothere.txt", "not found"},
		},
		{
			name:       "unknown instruction",
			dockerfile: "FROM scratch\nFETCH it\n",
			want:       []string{"building Dockerfile: ", "unknown instruction", "FETCH"},
		},
		{
			name:       "unknown base image",
			dockerfile: "FROM deploy-action-test/none:missing\nRUN true\n",
			want:       []string{"building Dockerfile: ", "deploy-action-test/none:missing"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"Dockerfile": tc.dockerfile})
			_, _, err := buildImage(t, Request{ContextDir: dir})
			require.Error(t, err)
			t.Log(err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestBuildScratch(t *testing.T) {
	t.Parallel()
	host, api := testEngine(t)

	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY hello.txt /srv/\nCOPY bin/ /bin/\nENTRYPOINT [\"/bin/app\"]\n",
		"hello.txt":  "hello\n",
		"bin/app":    "#!/bin/app\n",
	})
	tmp := t.TempDir()
	b, err := New(Request{ContextDir: dir}, WithHost(host), WithTempDir(tmp), WithProgress(&logWriter{t: t}))
	require.NoError(t, err)
	img, err := b.Build(context.Background())
	require.NoError(t, err)
	id := img.(*Image).ID()
	t.Cleanup(func() {
		_, _ = api.ImageRemove(context.Background(), id, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	require.NoError(t, validate.Image(img))

	cf, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, []string{"/bin/app"}, cf.Config.Entrypoint)
	m, err := img.Manifest()
	require.NoError(t, err)
	require.Len(t, m.Layers, 2)
	for _, l := range m.Layers {
		assert.Equal(t, types.OCILayer, l.MediaType)
	}
	assert.Equal(t, map[string]string{"/srv/hello.txt": "hello\n", "/bin/app": "#!/bin/app\n"}, files(t, img, "/srv/", "/bin/"))

	// The engine's diff IDs are the image's: the layers are the engine's bytes.
	inspect, err := api.ImageInspect(context.Background(), id)
	require.NoError(t, err)
	var diffIDs []string
	for _, h := range cf.RootFS.DiffIDs {
		diffIDs = append(diffIDs, h.String())
	}
	assert.Equal(t, inspect.RootFS.Layers, diffIDs)

	// Reading the same image again gives the same bytes.
	again, err := Load(context.Background(), api, id, WithTempDir(tmp))
	require.NoError(t, err)
	d1, err := img.Digest()
	require.NoError(t, err)
	d2, err := again.Digest()
	require.NoError(t, err)
	assert.Equal(t, d1, d2)
	require.NoError(t, again.Close())

	// Closing the builder removes the layers of the images it made.
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Len(t, left, 1, "the first image's directory")
	require.NoError(t, b.Close())
	left, err = os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left)
	layers, err := img.Layers()
	require.NoError(t, err)
	_, err = layers[0].Compressed()
	assert.ErrorContains(t, err, "the image was closed")
	_, err = b.Build(context.Background())
	assert.ErrorContains(t, err, "the builder is closed")
}

func TestBuildCanceled(t *testing.T) {
	t.Parallel()
	_, api := testEngine(t)
	requireBase(t, api)

	dir := t.TempDir()
	// The step never ends: a Build that returns at all stopped with its context.
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + baseImage + "\nRUN echo " + randomID(t) + " && sleep infinity\n"})
	host := testenv.DockerHost(t)
	b, err := New(Request{ContextDir: dir}, WithHost(host), WithTempDir(t.TempDir()))
	require.NoError(t, err)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = b.Build(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the build stops with its context, not with the step")
}

func TestBuildSecret(t *testing.T) {
	t.Parallel()
	_, api := testEngine(t)
	requireBase(t, api)

	secret := "s3cr3t-" + randomID(t)
	dir := t.TempDir()
	// A secret is not part of the cache key: the step is made unique so that
	// it runs with this test's secret.
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + baseImage + `
RUN --mount=type=secret,id=token echo ` + randomID(t) + ` && sha256sum /run/secrets/token | cut -d' ' -f1 > /token.sha256 && ls /run/secrets > /seen
`})
	img, log, err := buildImage(t, Request{ContextDir: dir}, WithSecret("token", []byte(secret)))
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(secret))
	assert.Equal(t, map[string]string{
		"/token.sha256": hex.EncodeToString(sum[:]) + "\n",
		"/seen":         "token\n",
	}, files(t, img, "/token.sha256", "/seen"))

	// The secret is nowhere in the image, its config or the log.
	layers, err := img.Layers()
	require.NoError(t, err)
	for _, l := range layers[1:] {
		assert.NotContains(t, string(readAll(t, l.Uncompressed)), secret)
	}
	config, err := img.RawConfigFile()
	require.NoError(t, err)
	assert.NotContains(t, string(config), secret)
	assert.NotContains(t, log.String(), secret)
}

func TestWithSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	_, err := New(Request{ContextDir: dir}, WithSecret("a", nil), WithSecret("a", []byte("x")))
	assert.EqualError(t, err, `WithSecret: secret "a" is given twice`)
	_, err = New(Request{ContextDir: dir}, WithSecret("", nil))
	assert.EqualError(t, err, `WithSecret: "" is not a secret id; use a name such as "npm_token"`)
}
