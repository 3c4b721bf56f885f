package manifestpolicy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/render"
)

// SkipAnnotationPrefix starts the annotation that lets one object through one
// check; its value must say why: metadata.annotations:
// {"manifest-policy.deploy-action/skip-probes": "a queue worker: nothing to probe"}.
const SkipAnnotationPrefix = "manifest-policy.deploy-action/skip-"

// Finding is one problem of one object.
type Finding struct {
	// Object names the object, "Deployment/shop" (see render.Object.ID).
	Object string
	// Source is where the field at fault is: "k8s/app.yaml:31".
	Source string
	Check  Check
	// Mode is the check's: Fail or Warn.
	Mode Mode
	// Message says what is wrong and what it costs. It never holds a
	// secret's value.
	Message string
	// Fix says how to put it right.
	Fix string
	// Waived, when set, says why the finding does not count: the reason of
	// the object's opt-out annotation, or the allow-list entry that matched.
	Waived string
}

// Counts reports whether the finding counts (it was not waived).
func (f Finding) Counts() bool { return f.Waived == "" }

// Result is what the checks found, in object order and then check order.
type Result struct {
	Findings []Finding
	// Objects is how many objects were checked.
	Objects int
	// Modes are the modes in force.
	Modes map[Check]Mode
}

// Failed reports whether a finding of a check in fail mode counts.
func (r *Result) Failed() bool { return len(r.failures()) > 0 }

func (r *Result) failures() []Finding { return r.counting(Fail) }

// Warnings are the findings that count and do not stop the deploy.
func (r *Result) Warnings() []Finding { return r.counting(Warn) }

func (r *Result) counting(m Mode) []Finding {
	if r == nil {
		return nil
	}
	var out []Finding
	for _, f := range r.Findings {
		if f.Counts() && f.Mode == m {
			out = append(out, f)
		}
	}
	return out
}

// Err is a *FailedError when Failed, else nil.
func (r *Result) Err() error {
	if !r.Failed() {
		return nil
	}
	return &FailedError{Result: r}
}

// FailedError is a release that fails a check in fail mode.
type FailedError struct {
	Result *Result
}

func (e *FailedError) Error() string {
	fails := e.Result.failures()
	parts := make([]string, len(fails))
	for i, f := range fails {
		parts[i] = fmt.Sprintf("%s: %s (%s): %s", f.Check, f.Object, f.Source, f.Message)
	}
	return fmt.Sprintf("the manifests fail %d policy check(s): %s", len(fails), strings.Join(parts, "; "))
}

// AnnotationError is an opt-out annotation that cannot be honoured: an
// unknown check, or no reason.
type AnnotationError struct {
	// Object and Source name the object, Key the annotation.
	Object, Source, Key string
	Msg                 string
}

func (e *AnnotationError) Error() string {
	return fmt.Sprintf("%s: %s: annotation %q %s", e.Source, e.Object, e.Key, e.Msg)
}

// Checker runs the checks.
type Checker struct {
	cfg Config
}

// New validates cfg (a *ConfigError when it is not valid) and returns a Checker.
func New(cfg Config) (*Checker, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Checker{cfg: c}, nil
}

// Config returns the configuration in force, defaults filled in.
func (c *Checker) Config() Config { return c.cfg }

// Check runs every check that is not off over objects, the release as it will
// be applied (images pinned). The error is an *AnnotationError (joined, one
// per bad annotation) or a pod template that cannot be read; findings are no
// error: see Result.Failed.
func (c *Checker) Check(ctx context.Context, objects []render.Object) (*Result, error) {
	rel, err := newRelease(objects, c.cfg.Namespace)
	if err != nil {
		return nil, err
	}
	res := &Result{Objects: len(objects), Modes: c.cfg.Modes}
	var raw []finding
	for _, k := range Checks {
		if c.cfg.Modes[k] == Off {
			continue
		}
		fs, err := checks[k](ctx, rel, c.cfg)
		if err != nil {
			return nil, err
		}
		for i := range fs {
			fs[i].check = k
		}
		raw = append(raw, fs...)
	}
	// Object order, then check order, then line: the order of the files.
	order := map[Check]int{}
	for i, k := range Checks {
		order[k] = i
	}
	sort.SliceStable(raw, func(i, j int) bool {
		if raw[i].obj != raw[j].obj {
			return raw[i].obj < raw[j].obj
		}
		if raw[i].check != raw[j].check {
			return order[raw[i].check] < order[raw[j].check]
		}
		return raw[i].line < raw[j].line
	})
	for _, f := range raw {
		o := rel.objects[f.obj]
		res.Findings = append(res.Findings, Finding{
			Object:  o.id,
			Source:  o.At(f.line),
			Check:   f.check,
			Mode:    c.cfg.Modes[f.check],
			Message: f.msg,
			Fix:     f.fix,
			Waived:  c.waived(o, f.check),
		})
	}
	return res, nil
}

func (c *Checker) waived(o *object, k Check) string {
	if reason, ok := o.skips[k]; ok {
		return "opted out: " + reason
	}
	for _, a := range c.cfg.Allow {
		if a.matches(k, o.kind, o.namespace, o.name) {
			return "allowed by " + a.String()
		}
	}
	return ""
}

// finding is what a check reports, before modes and waivers.
type finding struct {
	obj   int // index in release.objects
	line  int // of the field at fault, in the object's tree
	check Check
	msg   string
	fix   string
}

type checkFunc func(ctx context.Context, rel *release, cfg Config) ([]finding, error)

var checks = map[Check]checkFunc{
	Secrets:        checkSecrets,
	Digest:         checkDigest,
	Latest:         checkLatest,
	Migrations:     checkMigrations,
	DatabaseVolume: checkDatabaseVolume,
	ExposedAdmin:   checkExposedAdmin,
	Probes:         checkProbes,
	Resources:      checkResources,
	Baseline:       checkBaseline,
	Restricted:     checkRestricted,
	PDB:            checkPDB,
}

// skips reads an object's opt-out annotations.
func skips(o *object) (map[Check]string, error) {
	var out map[Check]string
	var errs []error
	keys := make([]string, 0, len(o.annotations))
	for k := range o.annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, SkipAnnotationPrefix)
		if !ok {
			continue
		}
		bad := func(msg string) {
			errs = append(errs, &AnnotationError{Object: o.id, Source: o.Source, Key: k, Msg: msg})
		}
		if !slices.Contains(Checks, Check(name)) {
			bad(fmt.Sprintf("names no check; the checks are %s (write %s<check>: <reason>)", checkNames(), SkipAnnotationPrefix))
			continue
		}
		reason := strings.TrimSpace(o.annotations[k])
		switch strings.ToLower(reason) {
		case "":
			bad(fmt.Sprintf("has no reason; its value must say why the check does not apply, e.g. %q: \"a queue worker, nothing to probe\"", k))
			continue
		case "true", "yes", "on", "1", "skip", "false", "no", "off", "0":
			bad(fmt.Sprintf("is %q, not a reason; its value must say why the check does not apply, e.g. %q: \"a queue worker, nothing to probe\"", reason, k))
			continue
		}
		if out == nil {
			out = map[Check]string{}
		}
		out[Check(name)] = reason
	}
	return out, errors.Join(errs...)
}
