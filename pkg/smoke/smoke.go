package smoke

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/go-connections/nat"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/sys/signal"

	"github.com/deploy-action/deploy-action/pkg/engine"
	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
	"github.com/deploy-action/deploy-action/pkg/mask"
)

// settle is how long an image or a service with no readiness check must keep
// running to count as started.
const settle = 2 * time.Second

// Runner runs smoke tests. Make one with New.
type Runner struct {
	cfg     Config
	o       options
	ownsAPI bool
}

// New validates cfg and returns a Runner. Close it when done.
func New(cfg Config, opts ...Option) (*Runner, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	r := &Runner{cfg: c, o: o}
	if o.masker == nil {
		r.o.masker = &mask.Masker{}
	}
	if o.http == nil {
		r.o.http = &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if o.api == nil {
		eopts := []engine.Option{engine.WithGetenv(o.getenv)}
		if o.host != "" {
			eopts = append(eopts, engine.WithHost(o.host))
		}
		api, err := engine.New(eopts...)
		if err != nil {
			return nil, err
		}
		r.o.api, r.ownsAPI = api, true
	}
	return r, nil
}

// Close releases the engine client, if the Runner made it.
func (r *Runner) Close() error {
	if r.ownsAPI {
		return r.o.api.Close()
	}
	return nil
}

// Config returns the configuration in force, defaults filled in.
func (r *Runner) Config() Config { return r.cfg }

// Run smoke-tests an image. engineRef names it in the engine's store (an image
// BuildKit built there); when it is empty, img is loaded into the engine for
// the run and removed afterwards. Failures of the image or its services are
// failed steps of the Result; an error means the run could not take place
// (no engine, the image not found, the ready port taken, an interrupt).
// Everything the run creates is removed before Run returns, also on error.
func (r *Runner) Run(ctx context.Context, img v1.Image, engineRef string) (res *Result, err error) {
	run := r.o.run
	if run == "" {
		run = sandbox.NewRunID()
	}
	x := &execution{
		Runner: r, sb: sandbox.New(r.o.api, run), ids: map[string]string{},
		res: &Result{Run: run, Logs: map[string]string{}}, probeFrom: r.o.probeFrom,
		logCtx: context.WithoutCancel(ctx),
	}
	for _, v := range r.cfg.SecretValues() {
		r.o.masker.Add(v)
	}
	start := r.o.clock.Now()
	defer func() {
		// Interrupted (a cancelled job is killed seconds after its signal):
		// clean up at once; collecting logs can take seconds per container.
		if ctx.Err() == nil {
			x.collectLogs()
		}
		if cerr := x.sb.Cleanup(ctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("removing what the smoke run created (label %s=%s): %w", sandbox.LabelRun, run, cerr))
		}
		x.res.Duration = r.o.clock.Since(start)
	}()
	err = x.run(ctx, img, engineRef)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("smoke run interrupted: %w", ctx.Err())
	}
	return x.res, err
}

// execution is the state of one run.
type execution struct {
	*Runner
	sb  *sandbox.Sandbox
	res *Result
	// logCtx is the run's context without its cancellation: a failed step's
	// logs are read even when the failure was a deadline.
	logCtx  context.Context
	mu      sync.Mutex
	ids     map[string]string // role ("app", "db", "test") -> container ID
	network string
	image   string
	stopSig string
	// probeFrom is the container the readiness probe runs in, joined to the
	// run's network; empty when it probes the host's loopback.
	probeFrom string
}

func (x *execution) mask(s string) string { return x.o.masker.Mask(s) }

// name is how the run's messages refer to a field of Config: in the user's
// terms when WithFieldNames gave them.
func (x *execution) name(f string) string { return x.o.names.Of(f) }

func (x *execution) logf(format string, args ...any) {
	fmt.Fprintln(x.o.log, x.mask(fmt.Sprintf("smoke: "+format, args...)))
}

func (x *execution) step(name string, start time.Time, status Status, msg, logsOf string) {
	s := Step{Name: name, Status: status, Message: x.mask(msg), Duration: x.o.clock.Since(start)}
	if status == Fail && logsOf != "" {
		s.Logs, s.Container = x.logs(logsOf), logsOf
	}
	x.res.Steps = append(x.res.Steps, s)
	x.logf("%s: %s (%s)", name, s.Message, s.Duration.Round(10*time.Millisecond))
}

func (x *execution) skip(names ...string) {
	for _, n := range names {
		x.res.Steps = append(x.res.Steps, Step{Name: n, Status: Skipped, Message: "not run: an earlier step failed"})
	}
}

// logs returns the masked end of a container's output.
func (x *execution) logs(role string) string {
	x.mu.Lock()
	id, ok := x.ids[role]
	x.mu.Unlock()
	if !ok {
		return ""
	}
	ctx, cancel := context.WithTimeout(x.logCtx, 20*time.Second)
	defer cancel()
	out, err := x.sb.Logs(ctx, id, x.o.logLines)
	if err != nil && out == "" {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	return x.mask(strings.TrimRight(out, "\n"))
}

func (x *execution) collectLogs() {
	x.mu.Lock()
	roles := make([]string, 0, len(x.ids))
	for r := range x.ids {
		roles = append(roles, r)
	}
	x.mu.Unlock()
	sort.Strings(roles)
	for _, r := range roles {
		x.res.Logs[r] = x.logs(r)
	}
}

func (x *execution) track(role, id string) {
	x.mu.Lock()
	x.ids[role] = id
	x.mu.Unlock()
}

const (
	stepImage = "image starts"
	stepReady = "image becomes ready"
	stepTest  = "test command passes"
	stepStop  = "image stops on its stop signal"
)

func (x *execution) run(ctx context.Context, img v1.Image, engineRef string) error {
	cfg, port, hostPort, err := x.setUp(ctx, img, engineRef)
	if err != nil {
		return err
	}
	rest := []string{stepImage, stepReady}
	if len(x.cfg.TestCommand) > 0 {
		rest = append(rest, stepTest)
	}
	rest = append(rest, stepStop)

	if ok, err := x.startServices(ctx); err != nil || !ok {
		x.skip(rest...)
		return err
	}
	id, ok, err := x.startImage(ctx, cfg, port, hostPort)
	if err != nil || !ok {
		if err == nil {
			x.skip(rest[1:]...)
		}
		return err
	}

	// Readiness.
	start := x.o.clock.Now()
	ok, msg, err := x.waitReady(ctx, id, port, cfg)
	if err != nil {
		return err
	}
	if !ok {
		x.step(stepReady, start, Fail, msg, "app")
		x.skip(rest[2:]...)
		return nil
	}
	x.step(stepReady, start, Pass, msg, "")

	// The project's tests, inside the image.
	if len(x.cfg.TestCommand) > 0 {
		start = x.o.clock.Now()
		ok, msg, err := x.testCommand(ctx)
		if err != nil {
			return err
		}
		x.step(stepTest, start, passOrFail(ok), msg, "test")
	}

	// The stop.
	start = x.o.clock.Now()
	ok, msg, err = x.stop(ctx, id)
	if err != nil {
		return err
	}
	x.step(stepStop, start, passOrFail(ok), msg, "app")
	return nil
}

func passOrFail(ok bool) Status {
	if ok {
		return Pass
	}
	return Fail
}

// setUp puts the image in the engine, reads its config, picks the readiness
// port and makes the run's network (joined by the probing container, if any).
func (x *execution) setUp(ctx context.Context, img v1.Image, engineRef string) (cfg *dockerspec.DockerOCIImageConfig, port, hostPort string, err error) {
	if err := x.resolveImage(ctx, img, engineRef); err != nil {
		return nil, "", "", err
	}
	info, err := x.sb.Inspect(ctx, x.image)
	if err != nil {
		return nil, "", "", fmt.Errorf("inspecting image %s: %w", x.image, err)
	}
	cfg = info.Config
	if cfg == nil {
		cfg = &dockerspec.DockerOCIImageConfig{}
	}
	x.stopSig = cfg.StopSignal
	if port, hostPort, err = x.readyPort(cfg); err != nil {
		return nil, "", "", err
	}
	if x.network, err = x.sb.Network(ctx, "net"); err != nil {
		return nil, "", "", err
	}
	if x.probeFrom != "" {
		if err := x.sb.Attach(ctx, x.network, x.probeFrom); err != nil {
			if !cerrdefs.IsNotFound(err) {
				return nil, "", "", err
			}
			// No container of that name: this program shares the host's network
			// (a job container on the host network, as act and some self-hosted
			// runners start them), whose loopback is where the engine publishes
			// ports. Probe there.
			x.probeFrom = ""
		}
	}
	return cfg, port, hostPort, nil
}

// startImage creates and starts the image's container, the "image starts"
// step. ok is false when the engine could not start it (a failed step).
func (x *execution) startImage(ctx context.Context, cfg *dockerspec.DockerOCIImageConfig, port, hostPort string) (id string, ok bool, err error) {
	start := x.o.clock.Now()
	spec := sandbox.Spec{Name: x.cfg.Alias, Image: x.image, Env: envList(x.cfg.Env, x.cfg.Secrets), Network: x.network, Aliases: []string{x.cfg.Alias}}
	if x.cfg.ReadyPath != "" && x.probeFrom == "" {
		spec.Publish = []sandbox.Publish{{Port: port, HostPort: hostPort}}
	}
	if x.cfg.ReadyPath == "" && cfg.Healthcheck != nil && len(cfg.Healthcheck.Test) > 0 && cfg.Healthcheck.Test[0] != "NONE" {
		spec.Healthcheck = quickHealth(cfg.Healthcheck.Test, cfg.Healthcheck)
	}
	id, err = x.sb.Create(ctx, spec)
	if err != nil {
		return "", false, err
	}
	x.track("app", id)
	if err := x.sb.Start(ctx, id); err != nil {
		if isPortTaken(err) {
			return "", false, fmt.Errorf(`%s: 127.0.0.1:%s is already in use on this machine; write only the container port (%s) to let the engine choose a free one, or pick another host port`, x.name(FieldReadyPort), hostPort, strings.TrimSuffix(port, "/tcp"))
		}
		if ctx.Err() != nil {
			return "", false, err
		}
		x.step(stepImage, start, Fail, fmt.Sprintf("the engine could not start the image: %v; check ENTRYPOINT and CMD", err), "app")
		return id, false, nil
	}
	x.step(stepImage, start, Pass, "started "+x.image, "")
	return id, true, nil
}

func (x *execution) resolveImage(ctx context.Context, img v1.Image, engineRef string) error {
	if engineRef != "" {
		if _, err := x.sb.Inspect(ctx, engineRef); err != nil {
			if cerrdefs.IsNotFound(err) {
				return fmt.Errorf("image %q is not in the engine's store; build it first (deploy-action build, or docker build -t %s .), or test the built image by passing it instead of a name", engineRef, engineRef)
			}
			return fmt.Errorf("inspecting image %s: %w", engineRef, err)
		}
		x.image = engineRef
		return nil
	}
	if img == nil {
		return errors.New("no image to smoke-test: pass the built image or its name in the engine's store")
	}
	start := x.o.clock.Now()
	ref, err := x.sb.Load(ctx, img)
	if err != nil {
		return err
	}
	x.logf("loaded the image into the engine as %s in %s", ref, x.o.clock.Now().Sub(start).Round(10*time.Millisecond))
	x.image = ref
	return nil
}

// readyPort picks the container port of the readiness probe.
func (x *execution) readyPort(cfg *dockerspec.DockerOCIImageConfig) (port, hostPort string, err error) {
	if x.cfg.ReadyPath == "" {
		return "", "", nil
	}
	if x.cfg.ReadyPort != "" {
		return parsePort(x.cfg.ReadyPort)
	}
	var tcp []string
	for p := range cfg.ExposedPorts {
		if np := nat.Port(p); np.Proto() == "tcp" {
			tcp = append(tcp, np.Port()+"/tcp")
		}
	}
	sort.Strings(tcp)
	switch len(tcp) {
	case 1:
		return tcp[0], "", nil
	case 0:
		return "", "", fmt.Errorf("%s is not set and the image exposes no TCP port; set it to the port the ready-path is served on, e.g. 8000", x.name(FieldReadyPort))
	}
	return "", "", fmt.Errorf("%s is not set and the image exposes %s; set it to the one the ready-path is served on", x.name(FieldReadyPort), strings.Join(tcp, ", "))
}

// quickHealth is the image's (or a service's) health check, polled every
// second instead of its own interval (often 30 s): readiness is what is
// tested here, not the check's schedule.
func quickHealth(test []string, base *container.HealthConfig) *container.HealthConfig {
	h := &container.HealthConfig{Test: test, Interval: time.Second, Timeout: 5 * time.Second, Retries: 3}
	if base != nil {
		if base.Timeout > 0 {
			h.Timeout = base.Timeout
		}
		if base.Retries > 0 {
			h.Retries = base.Retries
		}
		h.StartPeriod = base.StartPeriod
	}
	return h
}

func envList(envs ...map[string]string) []string {
	var out []string
	for _, env := range envs {
		for k, v := range env {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

func isPortTaken(err error) bool {
	s := err.Error()
	return strings.Contains(s, "port is already allocated") || strings.Contains(s, "address already in use")
}

func (x *execution) sleep(ctx context.Context) error { return x.sleepFor(ctx, x.o.poll) }

func (x *execution) sleepFor(ctx context.Context, d time.Duration) error {
	t := x.o.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}

// stopSignalName names the signal the engine sends on stop.
func (x *execution) stopSignalName() (string, syscall.Signal) {
	if x.stopSig == "" {
		return "SIGTERM", syscall.SIGTERM
	}
	sig, err := signal.ParseSignal(x.stopSig)
	if err != nil {
		return x.stopSig, 0
	}
	name := strings.ToUpper(x.stopSig)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if _, err := fmt.Sscan(x.stopSig, new(int)); err == nil {
		name = "signal " + x.stopSig
	}
	return name, sig
}
