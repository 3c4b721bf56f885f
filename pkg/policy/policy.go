package policy

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/internal/imagefs"
)

// Status is the outcome of one check.
type Status string

// Outcomes of a check.
const (
	Pass    Status = "pass"
	Warning Status = "warn"
	Failure Status = "fail"
	Skipped Status = "off"
)

// Finding is the outcome of one check, with a message for people: what was
// found and, when it is not a pass, how to fix it.
type Finding struct {
	Check   Check
	Status  Status
	Message string
	// Details lists the individual items behind the message (one secret per
	// line, say), without any secret value.
	Details []string
}

// Result is the outcome of every check.
type Result struct {
	Findings []Finding
	// Duration is how long the checks took, reading the layers included.
	Duration time.Duration
	// Scanned counts the files the secret detector read; Packaged those left
	// out because a package installed them unchanged; Unscanned the binary and
	// large files, whose names only were checked.
	Scanned, Packaged, Unscanned int
}

// Failed reports whether a check in fail mode failed.
func (r *Result) Failed() bool {
	for _, f := range r.Findings {
		if f.Status == Failure {
			return true
		}
	}
	return false
}

// Option configures a Checker.
type Option func(*options) error

type options struct {
	now         func() time.Time
	concurrency int
	keepBudget  int
	names       field.Names
}

// WithClock sets the clock that times the checks (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("WithClock: the clock is nil")
		}
		o.now = now
		return nil
	}
}

// WithFieldNames names Config's fields as the user sets them, for the
// findings that say which setting to change; without it, they name the field
// (FieldSizeBudget).
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}

// WithConcurrency sets how many layers are read at once (default GOMAXPROCS).
func WithConcurrency(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("WithConcurrency: %d is not a positive number of layers", n)
		}
		o.concurrency = n
		return nil
	}
}

// Checker runs the policy checks on images.
type Checker struct {
	cfg Config
	o   options
}

// New validates cfg and returns a Checker.
func New(cfg Config, opts ...Option) (*Checker, error) {
	o := options{now: time.Now, keepBudget: defaultKeepBudget}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Checker{cfg: c, o: o}, nil
}

// Config returns the configuration in force, defaults filled in.
func (c *Checker) Config() Config { return c.cfg }

// Check runs every check that is not off on img. It reads each layer once,
// in parallel; an error means the image could not be read, not that a check failed.
func (c *Checker) Check(ctx context.Context, img v1.Image) (*Result, error) {
	start := c.o.now()
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the image config: %w", err)
	}
	if cf == nil {
		return nil, errors.New("reading the image config: the image has none")
	}
	on := func(k Check) bool { return c.cfg.Modes[k] != Off }

	// What the checks need from the file system, decided before the one pass.
	needFS := on(User) || on(Secrets) || on(Exec)
	var scan *secretScan
	if on(Secrets) {
		if scan, err = newSecretScan(c.cfg, c.o.keepBudget); err != nil {
			return nil, err
		}
	}
	keep := keepSet(cf)
	var fsys *imagefs.FS
	if needFS {
		opts := imagefs.Options{Keep: keep, Concurrency: c.o.concurrency}
		if scan != nil {
			opts.Visit = scan.visit(ctx)
		}
		if fsys, err = imagefs.Read(ctx, img, opts); err != nil {
			return nil, err
		}
	}

	res := &Result{}
	for _, k := range Checks {
		if !on(k) {
			res.Findings = append(res.Findings, Finding{Check: k, Status: Skipped, Message: "off"})
			continue
		}
		var f Finding
		switch k {
		case User:
			f = checkUser(ctx, cf, fsys)
		case Secrets:
			if err = scan.scanRest(ctx, fsys, c.o.concurrency); err == nil {
				f = scan.finding(ctx, cf, fsys)
				res.Scanned, res.Packaged, res.Unscanned = scan.counts()
			}
		case Size:
			f, err = checkSize(img, c.cfg.SizeBudget, c.o.names)
		case Labels:
			f = checkLabels(cf, c.cfg.RequiredLabels)
		case Ports:
			f = checkPorts(cf, c.o.names)
		case Exec:
			f = checkExec(ctx, cf, fsys)
		}
		if err != nil {
			return nil, err
		}
		f.Check = k
		if f.Status == Failure && c.cfg.Modes[k] == Warn {
			f.Status = Warning
		}
		res.Findings = append(res.Findings, f)
	}
	res.Duration = c.o.now().Sub(start)
	return res, nil
}

// keepSet names the small files the checks read: the user and group
// databases, Debian's checksums (to tell a packaged file from one the build
// added) and the candidates for the entrypoint's program.
func keepSet(cf *v1.ConfigFile) func(string) bool {
	exact := map[string]bool{"/etc/passwd": true, "/etc/group": true}
	for _, p := range programCandidates(cf) {
		exact[p] = true
	}
	return func(p string) bool {
		if exact[p] {
			return true
		}
		if strings.HasSuffix(p, ".md5sums") {
			dir := path.Dir(p)
			return dir == "/var/lib/dpkg/info" || dir == "/var/lib/dpkg/status.d"
		}
		return false
	}
}

// pathMatch is path.Match, plus "DIR/**" for everything under DIR.
func pathMatch(pattern, p string) (bool, error) {
	if dir, ok := strings.CutSuffix(pattern, "/**"); ok {
		if _, err := path.Match(dir, "/"); err != nil {
			return false, err
		}
		return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/"), nil
	}
	return path.Match(pattern, p)
}
