package structure

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"
	"k8s.io/utils/clock"

	"github.com/deploy-action/deploy-action/pkg/engine"
	"github.com/deploy-action/deploy-action/pkg/internal/imagefs"
	"github.com/deploy-action/deploy-action/pkg/internal/sandbox"
	"github.com/deploy-action/deploy-action/pkg/mask"
)

// Kind is the kind of a test.
type Kind string

// Kinds of test, as the file names them.
const (
	Command       Kind = "commandTests"
	FileExistence Kind = "fileExistenceTests"
	FileContent   Kind = "fileContentTests"
	Metadata      Kind = "metadataTest"
)

// TestResult is the outcome of one test.
type TestResult struct {
	File   string
	Kind   Kind
	Name   string
	Passed bool
	// Errors says what did not hold, one line each.
	Errors []string
	// Stdout and Stderr are a command test's output, secrets masked.
	Stdout, Stderr string
	Duration       time.Duration
}

// Result is the outcome of every test of every file, in file order.
type Result struct {
	Tests    []TestResult
	Duration time.Duration
}

// Failed reports whether a test failed.
func (r *Result) Failed() bool {
	for _, t := range r.Tests {
		if !t.Passed {
			return true
		}
	}
	return false
}

// Option configures a Runner.
type Option func(*options) error

type options struct {
	api         *client.Client
	host        string
	getenv      func(string) string
	clock       clock.PassiveClock
	timeout     time.Duration
	concurrency int
	run         string
	masker      mask.Interface
}

// WithDockerClient uses an engine API client made by the caller (with
// pkg/engine), who keeps ownership of it. Command tests need one, or a client
// the Runner makes by pkg/engine's rules (WithDockerHost, WithGetenv).
func WithDockerClient(c *client.Client) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithDockerClient: the client is nil")
		}
		o.api = c
		return nil
	}
}

// WithDockerHost sets the engine's address for command tests (default:
// DOCKER_HOST, then the local socket).
func WithDockerHost(host string) Option {
	return func(o *options) error {
		if host == "" {
			return errors.New("WithDockerHost: the host is empty")
		}
		o.host = host
		return nil
	}
}

// WithGetenv sets how the environment is read: the variables
// containerRunOptions.envVars passes on and, when the Runner makes its own
// engine client, DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH and
// DOCKER_API_VERSION (default os.Getenv).
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error {
		if getenv == nil {
			return errors.New("WithGetenv: the function is nil")
		}
		o.getenv = getenv
		return nil
	}
}

// WithClock sets the clock that times the tests (default the wall clock).
func WithClock(c clock.PassiveClock) Option {
	return func(o *options) error {
		if c == nil {
			return errors.New("WithClock: the clock is nil")
		}
		o.clock = c
		return nil
	}
}

// WithTimeout bounds each command test, setup included (default 2 min).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout: %s is not positive", d)
		}
		o.timeout = d
		return nil
	}
}

// WithConcurrency sets how many command tests run at once (default 2).
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithConcurrency: %d is not positive", n)
		}
		o.concurrency = n
		return nil
	}
}

// WithRunID sets the value of the label on the containers command tests
// create (default: random).
func WithRunID(id string) Option {
	return func(o *options) error {
		if id == "" {
			return errors.New("WithRunID: the ID is empty")
		}
		o.run = id
		return nil
	}
}

// WithMasker sets the run's masker, which hides secrets in command output
// (default: a masker of the Runner's own, which masks passwords in URLs).
func WithMasker(m mask.Interface) Option {
	return func(o *options) error {
		if m == nil {
			return errors.New("WithMasker: the masker is nil")
		}
		o.masker = m
		return nil
	}
}

// Runner runs test files against images.
type Runner struct {
	files   []*File
	o       options
	ownsAPI bool
}

// New returns a Runner of files (from Load or Parse).
func New(files []*File, opts ...Option) (*Runner, error) {
	o := options{getenv: os.Getenv, clock: clock.RealClock{}, timeout: 2 * time.Minute, concurrency: 2, masker: &mask.Masker{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.api != nil && o.host != "" {
		return nil, errors.New("WithDockerClient and WithDockerHost exclude each other")
	}
	r := &Runner{files: files, o: o}
	if r.NeedsEngine() && o.api == nil {
		eopts := []engine.Option{engine.WithGetenv(o.getenv)}
		if o.host != "" {
			eopts = append(eopts, engine.WithHost(o.host))
		}
		api, err := engine.New(eopts...)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errNoEngine, err)
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

// NeedsEngine reports whether some test runs a command.
func (r *Runner) NeedsEngine() bool {
	for _, f := range r.files {
		if len(f.CommandTests) > 0 {
			return true
		}
	}
	return false
}

// Run runs every test. Metadata and file tests read img, daemonless; command
// tests run in containers of engineRef (an image in the engine's store) or,
// when it is empty, of img loaded into the engine for the run. Containers and
// images the tests create are removed before Run returns. An error means the
// tests could not run, not that one failed.
func (r *Runner) Run(ctx context.Context, img v1.Image, engineRef string) (*Result, error) {
	start := r.o.clock.Now()
	res := &Result{}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	var fsys *imagefs.FS
	if r.needsFS() {
		want := map[string]bool{}
		for _, f := range r.files {
			for _, t := range f.FileContentTests {
				want[imagefs.Clean(expand(t.Path, cf.Config.Env))] = true
			}
		}
		if fsys, err = imagefs.Read(ctx, img, imagefs.Options{Keep: func(p string) bool { return want[p] }}); err != nil {
			return nil, err
		}
	}
	for _, f := range r.files {
		if f.MetadataTest != nil {
			res.Tests = append(res.Tests, r.timed(f, Metadata, "metadata", func() []string { return metadataErrors(f.MetadataTest, cf) }))
		}
		for _, t := range f.FileExistenceTests {
			res.Tests = append(res.Tests, r.timed(f, FileExistence, t.Name, func() []string { return existenceErrors(t, fsys, cf.Config.Env) }))
		}
		for _, t := range f.FileContentTests {
			res.Tests = append(res.Tests, r.timed(f, FileContent, t.Name, func() []string { return contentErrors(ctx, t, fsys, cf.Config.Env) }))
		}
	}
	if r.NeedsEngine() {
		cmds, err := r.runCommands(ctx, img, engineRef, cf)
		if err != nil {
			return nil, err
		}
		res.Tests = append(res.Tests, cmds...)
	}
	res.Duration = r.o.clock.Since(start)
	return res, nil
}

func (r *Runner) needsFS() bool {
	for _, f := range r.files {
		if len(f.FileExistenceTests)+len(f.FileContentTests) > 0 {
			return true
		}
	}
	return false
}

func (r *Runner) timed(f *File, kind Kind, name string, check func() []string) TestResult {
	start := r.o.clock.Now()
	errs := check()
	return TestResult{File: f.Path, Kind: kind, Name: name, Passed: len(errs) == 0, Errors: errs, Duration: r.o.clock.Since(start)}
}

// expand replaces $VAR and ${VAR} with the image's environment, as the
// container-structure-test tool does; unknown variables stay as written.
func expand(s string, env []string) string {
	vars := map[string]string{}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		vars[k] = v
	}
	return os.Expand(s, func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return "${" + k + "}"
	})
}

func metadataErrors(m *MetadataTest, cf *v1.ConfigFile) []string {
	var errs []string
	env := map[string]string{}
	for _, e := range cf.Config.Env {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	match := func(isRegex bool, want, got string) bool {
		if isRegex {
			ok, _ := regexp.MatchString(want, got)
			return ok
		}
		return want == got
	}
	for _, e := range append(append([]EnvVar{}, m.Env...), m.EnvVars...) {
		got, ok := env[e.Key]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("variable %s is not in the image's environment", e.Key))
		case !match(e.IsRegex, e.Value, got):
			errs = append(errs, fmt.Sprintf("variable %s is %q, expected %q", e.Key, got, e.Value))
		}
	}
	for _, l := range m.Labels {
		got, ok := cf.Config.Labels[l.Key]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("label %s is not on the image", l.Key))
		case !match(l.IsRegex, l.Value, got):
			errs = append(errs, fmt.Sprintf("label %s is %q, expected %q", l.Key, got, l.Value))
		}
	}
	hasPort := func(p string) bool {
		if _, ok := cf.Config.ExposedPorts[p]; ok {
			return true
		}
		_, ok := cf.Config.ExposedPorts[p+"/tcp"]
		return ok
	}
	for _, p := range m.ExposedPorts {
		if !hasPort(p) {
			errs = append(errs, fmt.Sprintf("port %s is not exposed (exposed: %s)", p, strings.Join(sortedKeys(cf.Config.ExposedPorts), ", ")))
		}
	}
	for _, p := range m.UnexposedPorts {
		if hasPort(p) {
			errs = append(errs, fmt.Sprintf("port %s is exposed, expected not", p))
		}
	}
	for _, v := range m.Volumes {
		if _, ok := cf.Config.Volumes[v]; !ok {
			errs = append(errs, fmt.Sprintf("volume %s is not declared", v))
		}
	}
	for _, v := range m.UnmountedVolumes {
		if _, ok := cf.Config.Volumes[v]; ok {
			errs = append(errs, fmt.Sprintf("volume %s is declared, expected not", v))
		}
	}
	if m.Entrypoint != nil && !equal(*m.Entrypoint, cf.Config.Entrypoint) {
		errs = append(errs, fmt.Sprintf("entrypoint is %q, expected %q", cf.Config.Entrypoint, *m.Entrypoint))
	}
	if m.Cmd != nil && !equal(*m.Cmd, cf.Config.Cmd) {
		errs = append(errs, fmt.Sprintf("cmd is %q, expected %q", cf.Config.Cmd, *m.Cmd))
	}
	if m.Workdir != "" && m.Workdir != cf.Config.WorkingDir {
		errs = append(errs, fmt.Sprintf("workdir is %q, expected %q", cf.Config.WorkingDir, m.Workdir))
	}
	if m.User != "" && m.User != cf.Config.User {
		errs = append(errs, fmt.Sprintf("user is %q, expected %q", cf.Config.User, m.User))
	}
	return errs
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

func existenceErrors(t FileExistenceTest, fsys *imagefs.FS, env []string) []string {
	p := expand(t.Path, env)
	e, exists := fsys.Lstat(p)
	should := t.ShouldExist == nil || *t.ShouldExist
	switch {
	case should && !exists:
		return []string{fmt.Sprintf("%s does not exist", p)}
	case !should && exists:
		return []string{fmt.Sprintf("%s exists, expected not", p)}
	case !exists:
		return nil
	}
	var errs []string
	mode := e.Mode
	if t.Permissions != "" && mode.String() != t.Permissions {
		errs = append(errs, fmt.Sprintf("%s has mode %s, expected %s", p, mode, t.Permissions))
	}
	if t.UID != nil && e.UID != *t.UID {
		errs = append(errs, fmt.Sprintf("%s is owned by UID %d, expected %d", p, e.UID, *t.UID))
	}
	if t.GID != nil && e.GID != *t.GID {
		errs = append(errs, fmt.Sprintf("%s is owned by GID %d, expected %d", p, e.GID, *t.GID))
	}
	bits := map[string]uint32{"owner": 0o100, "group": 0o010, "other": 0o001, "any": 0o111}
	if b, ok := bits[t.IsExecutableBy]; ok && uint32(mode.Perm())&b == 0 {
		errs = append(errs, fmt.Sprintf("%s (mode %s) is not executable by %s", p, mode, t.IsExecutableBy))
	}
	return errs
}

func contentErrors(ctx context.Context, t FileContentTest, fsys *imagefs.FS, env []string) []string {
	p := expand(t.Path, env)
	data, err := fsys.ReadFile(ctx, p, 64<<20)
	if err != nil {
		return []string{fmt.Sprintf("cannot read %s: %v", p, err)}
	}
	var errs []string
	for _, re := range t.ExpectedContents {
		if ok, _ := regexp.Match(re, data); !ok {
			errs = append(errs, fmt.Sprintf("%s does not match %q", p, re))
		}
	}
	for _, re := range t.ExcludedContents {
		if ok, _ := regexp.Match(re, data); ok {
			errs = append(errs, fmt.Sprintf("%s matches %q, expected not", p, re))
		}
	}
	return errs
}

// runCommands runs every command test, a few at a time, on the engine.
func (r *Runner) runCommands(ctx context.Context, img v1.Image, engineRef string, cf *v1.ConfigFile) (_ []TestResult, err error) {
	run := r.o.run
	if run == "" {
		run = sandbox.NewRunID()
	}
	sb := sandbox.New(r.o.api, run)
	defer func() {
		if cerr := sb.Cleanup(ctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("removing the containers of command tests (label %s=%s): %w", sandbox.LabelRun, run, cerr))
		}
	}()
	ref := engineRef
	if ref == "" {
		if ref, err = sb.Load(ctx, img); err != nil {
			return nil, err
		}
	} else if _, err := sb.Inspect(ctx, ref); err != nil {
		return nil, fmt.Errorf("image %q for the command tests: %w; build it first, or pass the built image instead of a name", ref, err)
	}
	type job struct {
		f *File
		t CommandTest
	}
	var jobs []job
	for _, f := range r.files {
		for _, t := range f.CommandTests {
			jobs = append(jobs, job{f, t})
		}
	}
	out := make([]TestResult, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.o.concurrency)
	for i, j := range jobs {
		g.Go(func() error {
			res, err := r.command(gctx, sb, ref, fmt.Sprint(i), j.f, j.t, cf)
			out[i] = res
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
