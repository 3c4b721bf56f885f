package imagetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"
	"k8s.io/utils/clock"

	"github.com/deploy-action/deploy-action/pkg/engine"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
	"github.com/deploy-action/deploy-action/pkg/mask"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/smoke"
	"github.com/deploy-action/deploy-action/pkg/structure"
)

// SmokeMode says whether the smoke run happens.
type SmokeMode string

// Smoke modes, the values of Config.SmokeMode.
const (
	// SmokeAuto runs the smoke run when a Docker engine answers, and reports
	// it skipped, with the reason, when none does.
	SmokeAuto SmokeMode = "auto"
	SmokeOn   SmokeMode = "true"
	SmokeOff  SmokeMode = "false"
)

// Fields of Config and of the options, as a *field.Error or a field.Names
// names them.
const (
	FieldStructureTests = "imagetest.Config.StructureTests"
	FieldSmokeMode      = "imagetest.Config.SmokeMode"
	FieldDockerHost     = "imagetest.WithDockerHost"
)

// Config is what to test.
type Config struct {
	// Policy configures the policy checks; every check is on by default.
	Policy policy.Config
	// StructureTests are container-structure-test files.
	StructureTests []string
	// Smoke configures the smoke run; SmokeMode says whether it happens.
	Smoke     smoke.Config
	SmokeMode SmokeMode
}

// Option configures a Tester.
type Option func(*options) error

type options struct {
	api       *client.Client
	host      string
	getenv    func(string) string
	log       io.Writer
	masker    mask.Interface
	clock     clock.Clock
	run       string
	probeFrom string
	http      *http.Client
	names     field.Names
}

// WithDockerClient uses an engine API client made by the caller (with
// pkg/engine), who keeps ownership of it; the structure tests and the smoke
// run share it. It excludes WithDockerHost.
func WithDockerClient(c *client.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithDockerClient: the client is nil")
		}
		o.api = c
		return nil
	}
}

// WithDockerHost sets the engine's address, for a Tester that makes its own
// client by pkg/engine's rules (default: DOCKER_HOST, then the local socket).
// It excludes WithDockerClient.
func WithDockerHost(host string) Option {
	return func(o *options) error {
		if host == "" {
			return field.Errorf(FieldDockerHost, "the address is empty; give the engine's address, e.g. unix:///var/run/docker.sock")
		}
		o.host = host
		return nil
	}
}

// WithGetenv sets how the environment is read: variables structure tests pass
// on and, when the Tester makes its own engine client, DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and DOCKER_API_VERSION. Default os.Getenv.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error {
		if getenv == nil {
			return errors.New("WithGetenv: the function is nil")
		}
		o.getenv = getenv
		return nil
	}
}

// WithLog sets where progress goes, one line a step (default: nowhere).
func WithLog(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			w = io.Discard
		}
		o.log = w
		return nil
	}
}

// WithMasker sets the run's masker (the reporter's): the smoke run adds its
// secrets to it, and everything the Tester reports is masked with it. The
// default is a masker of the Tester's own.
func WithMasker(m mask.Interface) Option {
	return func(o *options) error {
		if m == nil {
			return errors.New("WithMasker: the masker is nil")
		}
		o.masker = m
		return nil
	}
}

// WithClock sets the clock that times the test and the smoke run's waits
// (default the wall clock).
func WithClock(c clock.Clock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithClock: the clock is nil")
		}
		o.clock = c
		return nil
	}
}

// WithRunID sets the value of the label on everything the test creates on
// the engine (default: random).
func WithRunID(id string) Option {
	return func(o *options) error {
		o.run = id
		return nil
	}
}

// WithProbeFrom says this program runs in the engine's container id (a
// Docker action): see smoke.WithProbeFrom.
func WithProbeFrom(containerID string) Option {
	return func(o *options) error {
		o.probeFrom = containerID
		return nil
	}
}

// WithHTTPClient sets the client of the smoke run's readiness probe.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		o.http = c
		return nil
	}
}

// WithFieldNames names fields as the user sets them, for the messages that
// say which setting to change; the policy checks and the smoke run get them
// too. Without it, messages name the field (FieldDockerHost).
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}

// Tester tests images, one at a time (everything a test creates on the
// engine is named after the Tester's run ID). Make one with New; Close it when done.
type Tester struct {
	cfg       Config
	o         options
	policy    *policy.Checker
	structure *structure.Runner
	smoke     *smoke.Runner
	ownsAPI   bool
}

// New validates the whole configuration (policy, test files, smoke run) and
// returns a Tester: every input error is reported here, before anything runs.
func New(cfg Config, opts ...Option) (*Tester, error) {
	o := options{getenv: os.Getenv, log: io.Discard, masker: &mask.Masker{}, clock: clock.RealClock{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.api != nil && o.host != "" {
		return nil, errors.New("WithDockerClient and WithDockerHost exclude each other")
	}
	// The policy checks and the engine's tests report at the same time.
	o.log = &lockedWriter{w: o.log}
	switch cfg.SmokeMode {
	case "":
		cfg.SmokeMode = SmokeAuto
	case SmokeAuto, SmokeOn, SmokeOff:
	default:
		return nil, field.Errorf(FieldSmokeMode, "%q is not auto, true or false", cfg.SmokeMode)
	}
	if o.run == "" {
		o.run = sandbox.NewRunID()
	}
	t := &Tester{cfg: cfg, o: o}
	var err error
	if t.policy, err = policy.New(cfg.Policy, policy.WithClock(o.clock.Now), policy.WithFieldNames(o.names)); err != nil {
		return nil, err
	}
	files, err := structure.Load(cfg.StructureTests...)
	if err != nil {
		return nil, &field.Error{Field: FieldStructureTests, Err: err}
	}
	needEngine := cfg.SmokeMode != SmokeOff
	for _, f := range files {
		if len(f.CommandTests) > 0 {
			needEngine = true
		}
	}
	if needEngine && o.api == nil {
		eopts := []engine.Option{engine.WithGetenv(o.getenv)}
		if o.host != "" {
			eopts = append(eopts, engine.WithHost(o.host))
		}
		api, err := engine.New(eopts...)
		if err != nil {
			return nil, &field.Error{Field: FieldDockerHost, Err: err}
		}
		t.o.api, t.ownsAPI = api, true
	}
	sopts := []structure.Option{structure.WithGetenv(o.getenv), structure.WithClock(o.clock), structure.WithRunID(o.run), structure.WithMasker(o.masker)}
	if cfg.Smoke.Timeout > 0 {
		sopts = append(sopts, structure.WithTimeout(cfg.Smoke.Timeout))
	}
	if t.o.api != nil {
		sopts = append(sopts, structure.WithDockerClient(t.o.api))
	}
	if t.structure, err = structure.New(files, sopts...); err != nil {
		t.Close()
		return nil, err
	}
	if cfg.SmokeMode != SmokeOff {
		mopts := []smoke.Option{smoke.WithDockerClient(t.o.api), smoke.WithLog(o.log), smoke.WithMasker(o.masker), smoke.WithClock(o.clock), smoke.WithRunID(o.run), smoke.WithFieldNames(o.names)}
		if o.probeFrom != "" {
			mopts = append(mopts, smoke.WithProbeFrom(o.probeFrom))
		}
		if o.http != nil {
			mopts = append(mopts, smoke.WithHTTPClient(o.http))
		}
		if t.smoke, err = smoke.New(cfg.Smoke, mopts...); err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

// Close releases the engine client, if the Tester made it.
func (t *Tester) Close() error {
	if t.ownsAPI {
		return t.o.api.Close()
	}
	return nil
}

func (t *Tester) logf(format string, args ...any) {
	fmt.Fprintln(t.o.log, t.o.masker.Mask(fmt.Sprintf(format, args...)))
}

// Test runs every test on img. engineRef names the same image in the
// engine's store when BuildKit built it there; when it is empty, img is
// loaded into the engine once for the tests that run containers, and
// removed afterwards. Test returns an error only when it was interrupted;
// everything else, bad input found at run time included, is a case of the
// report.
func (t *Tester) Test(ctx context.Context, img v1.Image, engineRef string) (*Report, error) {
	start := t.o.clock.Now()
	rep := &Report{Image: engineRef}
	if d, err := img.Digest(); err == nil {
		rep.Image = d.String()
	}
	var mu sync.Mutex
	var policyCases, structureCases, smokeCases []Case

	g, gctx := errgroup.WithContext(ctx)
	// The policy checks read the layers while the engine runs containers.
	g.Go(func() error {
		cs := t.runPolicy(gctx, img)
		mu.Lock()
		policyCases = cs
		mu.Unlock()
		return gctx.Err()
	})
	g.Go(func() error {
		st, sm := t.runEngine(gctx, img, engineRef)
		mu.Lock()
		structureCases, smokeCases = st, sm
		mu.Unlock()
		return gctx.Err()
	})
	err := g.Wait()
	rep.Cases = append(append(append(rep.Cases, policyCases...), structureCases...), smokeCases...)
	for i := range rep.Cases {
		c := &rep.Cases[i]
		c.Message, c.Output = t.o.masker.Mask(c.Message), t.o.masker.Mask(c.Output)
		for j := range c.Details {
			c.Details[j] = t.o.masker.Mask(c.Details[j])
		}
	}
	rep.Duration = t.o.clock.Since(start)
	if err != nil || ctx.Err() != nil {
		return rep, fmt.Errorf("image test interrupted: %w", errors.Join(err, ctx.Err()))
	}
	t.logf("image test %s in %s", rep.Verdict(), rep.Duration.Round(100*time.Millisecond))
	return rep, nil
}

func (t *Tester) runPolicy(ctx context.Context, img v1.Image) []Case {
	res, err := t.policy.Check(ctx, img)
	if err != nil {
		return []Case{{Suite: SuitePolicy, Name: "read the image", Status: Error, Message: err.Error()}}
	}
	t.logf("policy: %d checks in %s (%d files scanned for secrets)", len(res.Findings), res.Duration.Round(10*time.Millisecond), res.Scanned)
	cases := make([]Case, 0, len(res.Findings))
	for _, f := range res.Findings {
		c := Case{Suite: SuitePolicy, Name: string(f.Check), Message: f.Message, Details: f.Details}
		switch f.Status {
		case policy.Pass:
			c.Status = Pass
		case policy.Warning:
			c.Status = Warn
		case policy.Failure:
			c.Status = Fail
		case policy.Skipped:
			c.Status, c.Message = Skip, "off ("+t.o.names.Of(policy.FieldModes)+")"
		}
		cases = append(cases, c)
	}
	if len(cases) > 0 {
		cases[0].Duration = res.Duration
	}
	return cases
}

// runEngine runs the structure tests and the smoke run, loading img into the
// engine first when they need it and it is not there.
func (t *Tester) runEngine(ctx context.Context, img v1.Image, engineRef string) (structureCases, smokeCases []Case) {
	needEngine := t.structure.NeedsEngine() || t.smoke != nil
	ref := engineRef
	var loadErr error
	if needEngine && t.o.api != nil {
		if _, err := t.o.api.Ping(ctx, client.PingOptions{}); err != nil {
			loadErr = fmt.Errorf("%w at %s (%v); start dockerd, or set %s", errNoEngine, t.o.api.DaemonHost(), err, t.o.names.Of(FieldDockerHost))
		}
		if loadErr == nil && ref == "" {
			sb := sandbox.New(t.o.api, t.o.run)
			defer func() {
				if err := sb.Cleanup(ctx); err != nil {
					smokeCases = append(smokeCases, Case{Suite: SuiteSmoke, Name: "clean up", Status: Error, Message: err.Error()})
				}
			}()
			start := t.o.clock.Now()
			if ref, loadErr = sb.Load(ctx, img); loadErr == nil {
				t.logf("loaded the image into the engine as %s in %s", ref, t.o.clock.Since(start).Round(10*time.Millisecond))
			}
		}
	}

	// Structure tests: metadata and files need no engine; commands do.
	if t.structure.NeedsEngine() && loadErr != nil {
		structureCases = append(structureCases, Case{Suite: SuiteStructure, Name: "command tests", Status: Error, Message: loadErr.Error()})
	} else if res, err := t.structure.Run(ctx, img, ref); err != nil {
		structureCases = append(structureCases, Case{Suite: SuiteStructure, Name: "run", Status: Error, Message: err.Error()})
	} else {
		for _, tr := range res.Tests {
			c := Case{Suite: SuiteStructure, Name: structureName(tr), Status: Pass, Duration: tr.Duration}
			if !tr.Passed {
				c.Status, c.Message, c.Details = Fail, tr.Errors[0], tr.Errors
				c.Output = commandOutput(tr)
			} else {
				c.Message = "passed"
			}
			structureCases = append(structureCases, c)
		}
		if len(res.Tests) > 0 {
			t.logf("structure: %d tests in %s", len(res.Tests), res.Duration.Round(10*time.Millisecond))
		}
	}

	// The smoke run.
	switch {
	case t.smoke == nil:
		return structureCases, smokeCases
	case loadErr != nil && t.cfg.SmokeMode == SmokeAuto && engineRef == "" && errors.Is(loadErr, errNoEngine):
		smokeCases = append(smokeCases, Case{Suite: SuiteSmoke, Name: "smoke run", Status: Skip, Message: loadErr.Error() + "; set " + t.o.names.Of(FieldSmokeMode) + " to false to leave it out"})
		return structureCases, smokeCases
	case loadErr != nil:
		smokeCases = append(smokeCases, Case{Suite: SuiteSmoke, Name: "smoke run", Status: Error, Message: loadErr.Error()})
		return structureCases, smokeCases
	}
	res, err := t.smoke.Run(ctx, img, ref)
	if res != nil {
		for _, s := range res.Steps {
			c := Case{Suite: SuiteSmoke, Name: s.Name, Message: s.Message, Output: s.Logs, Duration: s.Duration}
			switch s.Status {
			case smoke.Pass:
				c.Status = Pass
			case smoke.Fail:
				// The failing container's logs first, then the others': a
				// server that is not ready often says why in its database's log.
				c.Status = Fail
				c.Output = containerLogs(res.Logs, s.Container, s.Logs)
			case smoke.Skipped:
				c.Status = Skip
			}
			smokeCases = append(smokeCases, c)
		}
	}
	if err != nil {
		c := Case{Suite: SuiteSmoke, Name: "smoke run", Status: Error, Message: err.Error()}
		if res != nil {
			c.Output = containerLogs(res.Logs, "", "")
		}
		smokeCases = append(smokeCases, c)
	}
	return structureCases, smokeCases
}

// errNoEngine is the cause of a test that found no engine to run containers in.
var errNoEngine = errors.New("no Docker engine answers")

func structureName(tr structure.TestResult) string {
	return fmt.Sprintf("%s: %s", baseName(tr.File), tr.Name)
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func commandOutput(tr structure.TestResult) string {
	var parts []string
	if tr.Stdout != "" {
		parts = append(parts, "stdout:\n"+strings.TrimRight(tr.Stdout, "\n"))
	}
	if tr.Stderr != "" {
		parts = append(parts, "stderr:\n"+strings.TrimRight(tr.Stderr, "\n"))
	}
	return strings.Join(parts, "\n")
}

// containerLogs shows the logs of every container of a smoke run, those of
// the container first (its logs as the step captured them), each under a header.
func containerLogs(logs map[string]string, first, firstLogs string) string {
	var b strings.Builder
	if first != "" && firstLogs != "" {
		fmt.Fprintf(&b, "== %s ==\n%s\n", first, firstLogs)
	}
	for _, role := range sortedRoles(logs) {
		if role == first || logs[role] == "" {
			continue
		}
		fmt.Fprintf(&b, "== %s ==\n%s\n", role, logs[role])
	}
	return strings.TrimRight(b.String(), "\n")
}

func sortedRoles(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// lockedWriter serialises writes: each is one whole line.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// NewRunID returns a random run ID, for WithRunID.
func NewRunID() string { return sandbox.NewRunID() }

// Leftovers lists what the run left on the engine: containers, networks and
// volumes with its label, images tagged for it. A finished Test leaves none;
// a test suite, or a CI job cleaning up after a killed run, checks with it.
func Leftovers(ctx context.Context, api *client.Client, run string) ([]string, error) {
	return sandbox.Leftovers(ctx, api, run)
}
