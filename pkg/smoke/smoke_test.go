package smoke_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/internal/testimage"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

func engine(t *testing.T) *client.Client {
	t.Helper()
	return testenv.Engine(t)
}

// syncBuffer is a log the runner writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run smoke-tests img with cfg and checks that the run left nothing behind.
func run(t *testing.T, api *client.Client, cfg smoke.Config, img v1.Image, ref string, opts ...smoke.Option) (*smoke.Result, string, error) {
	t.Helper()
	id := sandbox.NewRunID()
	var log syncBuffer
	r, err := smoke.New(cfg, append([]smoke.Option{smoke.WithDockerClient(api), smoke.WithRunID(id), smoke.WithLog(&log),
		smoke.WithPollInterval(100 * time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	start := time.Now()
	res, err := r.Run(t.Context(), img, ref)
	t.Logf("run took %s:\n%s", time.Since(start).Round(time.Millisecond), log.String())
	left, lerr := sandbox.Leftovers(context.Background(), api, id)
	require.NoError(t, lerr)
	assert.Empty(t, left, "the run must remove everything it created")
	return res, log.String(), err
}

func step(t *testing.T, res *smoke.Result, name string) smoke.Step {
	t.Helper()
	require.NotNil(t, res)
	for _, s := range res.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in %+v", name, res.Steps)
	return smoke.Step{}
}

func TestRunPasses(t *testing.T) {
	t.Parallel()
	api := engine(t)
	img := testimage.Server(t, "PRINT_ENV=API_TOKEN,DATABASE_URL,WORKERS,SESSION_TTL")
	cfg := smoke.Config{
		Env: map[string]string{"DATABASE_URL": "postgresql://shop:pw-" + sandbox.NewRunID() + "@db:5432/shop",
			"WORKERS": "8000", "SESSION_TTL": "3600s"},
		Secrets:     map[string]string{"API_TOKEN": "tok-" + sandbox.NewRunID()},
		ReadyPath:   "/ready",
		TestCommand: []string{"/server", "probe", "http://app:8080/ready"},
		Services: []smoke.Service{{
			Name: "db", Image: "", // filled below
			Healthcheck: []string{"/server", "probe", "http://127.0.0.1:8080/healthz"},
		}},
		GracePeriod: 5 * time.Second,
		Timeout:     30 * time.Second,
	}
	// The service is the same server, from the engine's store, to test both paths.
	ref := loadShared(t, api, img)
	cfg.Services[0].Image = ref
	res, log, err := run(t, api, cfg, img, "")
	require.NoError(t, err)
	assert.False(t, res.Failed(), "%+v", res.Steps)
	var names []string
	for _, s := range res.Steps {
		names = append(names, s.Name)
		assert.Equal(t, smoke.Pass, s.Status, "%s: %s", s.Name, s.Message)
	}
	assert.Equal(t, []string{"service db starts", "image starts", "image becomes ready", "test command passes", "image stops on its stop signal"}, names)
	assert.Contains(t, step(t, res, "service db starts").Message, "is healthy")
	assert.Contains(t, step(t, res, "image becomes ready").Message, "GET /ready answered 200")
	assert.Contains(t, step(t, res, "image stops on its stop signal").Message, "exited with code 0")
	// The server printed its token: the captured logs mask it, as does the log.
	assert.Contains(t, res.Logs["app"], "config: API_TOKEN=***")
	assert.NotContains(t, res.Logs["app"]+log, cfg.Secrets["API_TOKEN"])
	assert.Contains(t, res.Logs["app"], "config: DATABASE_URL=postgresql://shop:***@db:5432/shop", "a URL's password is masked")
	// Plain settings are never masked, even named like a secret.
	assert.Contains(t, res.Logs["app"], "config: WORKERS=8000\n")
	assert.Contains(t, res.Logs["app"], "config: SESSION_TTL=3600s\n")
	assert.Contains(t, res.Logs["test"], "probe: 200 OK")
}

// loadShared loads img under a tag of its own for the test, as a service image.
func loadShared(t *testing.T, api *client.Client, img v1.Image) string {
	t.Helper()
	sb := sandbox.New(api, sandbox.NewRunID())
	ref, err := sb.Load(t.Context(), img)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, sb.Cleanup(context.Background())) })
	return ref
}

// inputNames names fields as a command's inputs would.
var inputNames = field.Map(map[string]string{smoke.FieldTimeout: `input "test-timeout"`, smoke.FieldServices: `input "services"`})

func TestRunFailures(t *testing.T) {
	t.Parallel()
	api := engine(t)
	base := smoke.Config{ReadyPath: "/ready", GracePeriod: 2 * time.Second, Timeout: 20 * time.Second}
	shared := loadShared(t, api, testimage.Server(t))

	for _, tc := range []struct {
		name     string
		env      []string
		cfg      func(*smoke.Config)
		step     string
		contains []string
		logs     string
	}{
		{
			name: "never ready", env: []string{"NEVER_READY=1"},
			cfg:  func(c *smoke.Config) { c.Timeout = 2 * time.Second },
			step: "image becomes ready",
			contains: []string{"not ready after 2s", `GET /ready on port 8080 last answered 503 {"status":"unavailable","error":"database unreachable"}`,
				`raise input "test-timeout"`},
			logs: "listening on :8080",
		},
		{
			name: "ignores SIGTERM", env: []string{"IGNORE_TERM=1"},
			step:     "image stops on its stop signal",
			contains: []string{"did not exit within the grace period of 2s after SIGTERM and was killed (exit code 137)", `PID 1 was "/server serve"`, "exec form"},
			logs:     "received terminated",
		},
		{
			name: "stops with an error", env: []string{"EXIT_ON_TERM=2"},
			step:     "image stops on its stop signal",
			contains: []string{"exited with code 2", "a clean stop exits 0"},
		},
		{
			name: "crashes at start",
			cfg:  func(c *smoke.Config) { c.ReadyPath = "" },
			env:  nil, step: "image becomes ready",
			contains: []string{"exited with code 3 before it was ready"},
			logs:     "fatal: cannot connect to the database",
		},
		{
			name: "test command fails",
			cfg: func(c *smoke.Config) {
				c.TestCommand = []string{"/server", "probe", "http://app:8080/missing"}
			},
			step:     "test command passes",
			contains: []string{`the test command ["/server" "probe" "http://app:8080/missing"] exited with code 1`},
			logs:     "probe: 404 Not Found",
		},
		{
			name: "service fails to start",
			cfg: func(c *smoke.Config) {
				c.Services = []smoke.Service{{Name: "db", Image: shared, Command: []string{"crash"}}}
			},
			step:     "service db starts",
			contains: []string{"service db (" + shared + ") exited with code 3 before it was ready", `input "services"`},
			logs:     "fatal: cannot connect to the database at db:5432",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := base
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			img := testimage.Server(t, tc.env...)
			if tc.name == "crashes at start" {
				img = withCmd(t, img, "crash")
			}
			res, _, err := run(t, api, cfg, img, "", smoke.WithFieldNames(inputNames))
			require.NoError(t, err)
			assert.True(t, res.Failed())
			s := step(t, res, tc.step)
			assert.Equal(t, smoke.Fail, s.Status)
			for _, c := range tc.contains {
				assert.Contains(t, s.Message, c)
			}
			if tc.logs != "" {
				assert.Contains(t, s.Logs, tc.logs, "the failing container's logs are shown")
			}
			// Steps after a failure are reported as not run.
			for i, st := range res.Steps {
				if st.Name == tc.step {
					for _, later := range res.Steps[i+1:] {
						if tc.step != "test command passes" {
							assert.Equal(t, smoke.Skipped, later.Status, later.Name)
						}
					}
				}
			}
		})
	}
}

func withCmd(t *testing.T, img v1.Image, cmd ...string) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	require.NoError(t, err)
	c := cf.Config
	c.Cmd = cmd
	return testimage.Image(t, c, mustLayers(t, img)...)
}

func mustLayers(t *testing.T, img v1.Image) []v1.Layer {
	ls, err := img.Layers()
	require.NoError(t, err)
	return ls
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	api := engine(t)

	t.Run("image not found", func(t *testing.T) {
		t.Parallel()
		_, _, err := run(t, api, smoke.Config{}, nil, "deploy-action-test/missing:"+sandbox.NewRunID())
		require.Error(t, err)
		assert.Contains(t, err.Error(), "is not in the engine's store; build it first")
	})

	t.Run("port already taken", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		_, _, err = run(t, api, smoke.Config{ReadyPath: "/ready", ReadyPort: fmt.Sprintf("%d:8080", port)}, testimage.Server(t), "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf(smoke.FieldReadyPort+`: 127.0.0.1:%d is already in use on this machine`, port), "without names, the field is named as it is")
	})

	t.Run("interrupted", func(t *testing.T) {
		t.Parallel()
		id := sandbox.NewRunID()
		var log syncBuffer
		r, err := smoke.New(smoke.Config{ReadyPath: "/ready", Timeout: time.Minute},
			smoke.WithDockerClient(api), smoke.WithRunID(id), smoke.WithLog(&log))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			// Cancel once the image is up and the run waits for it.
			for !strings.Contains(log.String(), "image starts") {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
		}()
		res, err := r.Run(ctx, testimage.Server(t, "NEVER_READY=1"), "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "interrupted")
		assert.Empty(t, res.Logs, "cleanup comes first: no time is spent collecting logs")
		left, err := sandbox.Leftovers(context.Background(), api, id)
		require.NoError(t, err)
		assert.Empty(t, left)
	})
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cfg   smoke.Config
		field string
		want  string
	}{
		{"ready path", smoke.Config{ReadyPath: "readyz"}, smoke.FieldReadyPath, `"readyz" does not start with "/"`},
		{"ready port", smoke.Config{ReadyPort: "http"}, smoke.FieldReadyPort, `"http" is not a port`},
		{"udp port", smoke.Config{ReadyPort: "53/udp"}, smoke.FieldReadyPort, `is not TCP`},
		{"service without image", smoke.Config{Services: []smoke.Service{{Name: "db"}}}, smoke.FieldServices, `service "db" has no image`},
		{"service named like the image", smoke.Config{Services: []smoke.Service{{Name: "app", Image: "x"}}}, smoke.FieldServices, `the name "app" is used twice`},
		{"bad service name", smoke.Config{Services: []smoke.Service{{Name: "Data Base", Image: "x"}}}, smoke.FieldServices, `is not a host name`},
		{"negative grace", smoke.Config{GracePeriod: -time.Second}, smoke.FieldGracePeriod, "is negative"},
		{"negative timeout", smoke.Config{Timeout: -time.Second}, smoke.FieldTimeout, "is negative"},
		{"secret and plain", smoke.Config{Env: map[string]string{"A": "1"}, Secrets: map[string]string{"A": "2222"}}, smoke.FieldEnv,
			"A is set both as a plain setting and as a secret"},
		{"bad secret name", smoke.Config{Secrets: map[string]string{"A B": "2222"}}, smoke.FieldSecrets, `"A B" is not a variable name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := smoke.New(tc.cfg, smoke.WithDockerHost("unix:///nonexistent.sock"))
			var fe *field.Error
			require.True(t, errors.As(err, &fe), "%v", err)
			assert.Equal(t, tc.field, fe.Field)
			assert.Contains(t, fe.Err.Error(), tc.want)
		})
	}
	_, err := smoke.New(smoke.Config{}, smoke.WithDockerHost("unix:///x"), smoke.WithDockerClient(&client.Client{}))
	assert.ErrorContains(t, err, "exclude each other")
}

// TestRunProbeFrom runs the probe as from inside a container (a Docker action): that
// container joins the run's network, the image is probed at its address there, and the
// container is detached again before the network is removed. On Linux the host reaches
// bridge addresses too, which lets the test stand in for the action's container.
func TestRunProbeFrom(t *testing.T) {
	t.Parallel()
	api := engine(t)
	// The container this program would run in.
	self := sandbox.New(api, sandbox.NewRunID())
	t.Cleanup(func() { assert.NoError(t, self.Cleanup(context.Background())) })
	ref, err := self.Load(t.Context(), testimage.Server(t))
	require.NoError(t, err)
	id, err := self.Create(t.Context(), sandbox.Spec{Name: "self", Image: ref})
	require.NoError(t, err)
	require.NoError(t, self.Start(t.Context(), id))

	res, log, err := run(t, api, smoke.Config{ReadyPath: "/ready", GracePeriod: 5 * time.Second, Timeout: 30 * time.Second},
		nil, ref, smoke.WithProbeFrom(id))
	require.NoError(t, err)
	assert.False(t, res.Failed(), "%+v\n%s", res.Steps, log)
	st, err := self.State(t.Context(), id)
	require.NoError(t, err)
	assert.Len(t, st.NetworkSettings.Networks, 1, "detached from the run's network")
}

// TestRunProbeFromHostNetwork is the probe from a Docker action whose container
// shares the host's network (act, some self-hosted runners): HOSTNAME names no
// container there, and the probe goes to the port published on the host's
// loopback instead of failing the run.
func TestRunProbeFromHostNetwork(t *testing.T) {
	t.Parallel()
	api := engine(t)
	self := sandbox.New(api, sandbox.NewRunID())
	t.Cleanup(func() { assert.NoError(t, self.Cleanup(context.Background())) })
	ref, err := self.Load(t.Context(), testimage.Server(t))
	require.NoError(t, err)

	res, log, err := run(t, api, smoke.Config{ReadyPath: "/ready", GracePeriod: 5 * time.Second, Timeout: 30 * time.Second},
		nil, ref, smoke.WithProbeFrom("no-such-container-"+sandbox.NewRunID()))
	require.NoError(t, err)
	assert.False(t, res.Failed(), "%+v\n%s", res.Steps, log)
}
