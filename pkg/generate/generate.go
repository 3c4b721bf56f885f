package generate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/deploy-action/deploy-action/pkg/audit"
	"github.com/deploy-action/deploy-action/pkg/detect"
)

// File is one file to write, relative to the repository root.
type File struct {
	Path string
	Data []byte
}

// Input is what every part receives: the repository as detected, the
// config with the overrides applied, and the workflow's plan.
type Input struct {
	Repo   detect.Repository
	Config *Config
	Plan   *Plan
}

// Part produces some of the generated files, with notes for the user (what
// it assumed, what is missing). The workflow is one part; the Dockerfile,
// manifests and monitoring files are another.
type Part interface {
	Name() string
	Files(ctx context.Context, in *Input) ([]File, []string, error)
}

// Result is what a generation produced.
type Result struct {
	Files []File
	Notes []string
	// Overrides says where each value that replaced detection came from:
	// "registry: ghcr.io (flag --registry)".
	Overrides []string
	// Findings are the audit's on the generated workflow (its security and
	// delivery rules, and actionlint's): none, unless a template or the
	// config brought one in.
	Findings []audit.Finding
	// Config is the config as applied.
	Config *Config
	Plan   *Plan
	// WriteConfig says the config file is among Files: it was absent, or
	// flags changed it.
	WriteConfig bool
}

type options struct {
	pins    Pins
	action  *Pin
	parts   []Part
	lint    bool
	refresh *Resolver
}

// Option configures Generate.
type Option func(*options)

// WithPins replaces the pins table (tests, --refresh-pins).
func WithPins(p Pins) Option { return func(o *options) { o.pins = p } }

// WithActionPin is deploy-action's own pin when the config names none (the
// running binary's release).
func WithActionPin(p Pin) Option { return func(o *options) { o.action = &p } }

// WithParts adds parts after the workflow.
func WithParts(p ...Part) Option { return func(o *options) { o.parts = append(o.parts, p...) } }

// WithRefresh resolves every pin's newest release through r before
// rendering, and records the new pins in the config file.
func WithRefresh(r *Resolver) Option { return func(o *options) { o.refresh = r } }

// WithoutLint skips the audit and actionlint (they run by default).
func WithoutLint() Option { return func(o *options) { o.lint = false } }

// Generate decides and renders every file for repo. lc is the config file as
// read (LoadConfig), over the overrides given on the command line.
func Generate(ctx context.Context, repo detect.Repository, lc *LoadedConfig, over Overrides, opts ...Option) (*Result, error) {
	o := options{pins: DefaultPins(), lint: true}
	for _, opt := range opts {
		opt(&o)
	}
	if len(repo.Services) == 0 {
		return nil, &InputError{Field: "repository", Value: repo.Root, Problem: "has no service to build: no source or project files were found", Fix: "run generate in a repository with code (requirements.txt, go.mod, package.json, pom.xml, ...), or pass its directory as the argument"}
	}
	if lc == nil {
		lc = &LoadedConfig{File: ConfigPath, lines: map[string]int{}}
	}
	cfg := lc.Config // a copy: the overrides never change what was read
	cfg.Services = append([]ServiceConfig(nil), lc.Services...)
	cfg.Environments = append([]Environment(nil), lc.Environments...)
	from := map[string]source{}
	for k := range lc.lines {
		from[k] = lc.source(k)
	}
	if err := over.apply(&cfg, repo.Services, from); err != nil {
		return nil, err
	}
	if err := cfg.validate(func(k string) source { return from[k] }); err != nil {
		return nil, err
	}
	res := &Result{Config: &cfg}
	for k, s := range from {
		if s.Flag != "" {
			res.Overrides = append(res.Overrides, fmt.Sprintf("%s (%s)", k, s))
		}
	}
	sort.Strings(res.Overrides)

	if cfg.Action == nil && o.action != nil {
		a := *o.action
		cfg.Action = &a
	}
	pins := Pins{}
	for k, v := range o.pins {
		pins[k] = v
	}
	for _, p := range cfg.Pins {
		pins[p.Repo] = p
	}
	if o.refresh != nil {
		all := Pins{}
		for k, v := range pins {
			all[k] = v
		}
		if cfg.Action != nil {
			all[cfg.Action.Repo] = *cfg.Action
		}
		fresh, err := o.refresh.Refresh(ctx, all)
		if err != nil {
			return nil, err
		}
		cfg.Pins = nil
		for _, p := range fresh.Sorted() {
			if cfg.Action != nil && p.Repo == cfg.Action.Repo {
				a := p
				cfg.Action = &a
				continue
			}
			pins[p.Repo] = p
			cfg.Pins = append(cfg.Pins, p)
		}
		res.Overrides = append(res.Overrides, "pins (flag --refresh-pins)")
	}

	// The first generation records its choices, so a regeneration by another
	// binary gives the same bytes.
	_, statErr := os.Stat(filepath.Join(repo.Root, ConfigPath))
	res.WriteConfig = errors.Is(statErr, os.ErrNotExist) || len(res.Overrides) > 0
	if res.WriteConfig {
		if cfg.Registry == "" {
			cfg.Registry = "docker.io"
		}
		if cfg.Branch == "" {
			cfg.Branch = "main"
		}
		if len(cfg.Environments) == 0 {
			for _, e := range environments(&cfg) {
				on := "push"
				if e.Tag {
					on = "tag"
				}
				cfg.Environments = append(cfg.Environments, Environment{Name: e.Name, On: on})
			}
		}
	}

	p, err := plan(repo, &cfg, pins, from, &res.Notes)
	if err != nil {
		return nil, err
	}
	res.Plan = p
	in := &Input{Repo: repo, Config: &cfg, Plan: p}
	parts := append([]Part{&workflowPart{dir: cfg.Workflow.Templates, root: repo.Root, lint: o.lint, res: res}}, o.parts...)
	seen := map[string]string{}
	for _, part := range parts {
		files, notes, err := part.Files(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", part.Name(), err)
		}
		for _, f := range files {
			if prev, dup := seen[f.Path]; dup {
				return nil, fmt.Errorf("%s and %s both write %s", prev, part.Name(), f.Path)
			}
			seen[f.Path] = part.Name()
			res.Files = append(res.Files, f)
		}
		res.Notes = append(res.Notes, notes...)
	}
	if res.WriteConfig {
		data, err := cfg.Marshal()
		if err != nil {
			return nil, err
		}
		res.Files = append(res.Files, File{Path: ConfigPath, Data: data})
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Path < res.Files[j].Path })
	return res, nil
}

// workflowPart renders the workflow and dependabot's configuration.
type workflowPart struct {
	dir, root string
	lint      bool
	res       *Result
}

func (w *workflowPart) Name() string { return "workflow" }

func (w *workflowPart) Files(_ context.Context, in *Input) ([]File, []string, error) {
	dir := w.dir
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(w.root, dir)
	}
	t, err := loadTemplates(dir, in.Plan)
	if err != nil {
		return nil, nil, err
	}
	p := *in.Plan
	p.Header = header("do not edit it by hand, edit "+ConfigPath+" and regenerate", ConfigPath)
	wf, err := render(t, "deploy.yml.tmpl", &p)
	if err != nil {
		return nil, nil, err
	}
	p.Header = header("keeps the pinned actions and base images fresh", ConfigPath)
	dep, err := render(t, "dependabot.yml.tmpl", &p)
	if err != nil {
		return nil, nil, err
	}
	if w.lint {
		pins := in.Plan.Pins
		w.res.Findings, err = audit.Workflow(p.WorkflowPath, wf, audit.WithPins(func(repo, sha string) (string, bool) {
			if repo == in.Plan.Action.Repo && sha == in.Plan.Action.SHA {
				return in.Plan.Action.Version, true
			}
			pin, ok := pins[repo]
			if !ok || pin.SHA != sha {
				return "", false
			}
			return pin.Version, true
		}))
		if err != nil {
			return nil, nil, fmt.Errorf("auditing %s: %w", p.WorkflowPath, err)
		}
	}
	return []File{{Path: p.WorkflowPath, Data: wf}, {Path: ".github/dependabot.yml", Data: dep}}, nil, nil
}

// generatedByUs says a file on disk carries the marker in its first lines.
func generatedByUs(data []byte) bool {
	head := data
	if len(head) > 512 {
		head = head[:512]
	}
	return bytes.Contains(head, []byte(Marker))
}

// Write writes the files under root. A file on disk that deploy-action did
// not generate is left alone (a ForeignFileError) unless force; nothing is
// written when any file is refused. Unchanged files are not touched.
func Write(root string, files []File, force bool) (written []string, err error) {
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join(root, f.Path))
		if err == nil && !force && !generatedByUs(old) {
			return nil, &ForeignFileError{Path: f.Path}
		}
	}
	for _, f := range files {
		p := filepath.Join(root, f.Path)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.Data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return written, err
		}
		written = append(written, f.Path)
	}
	return written, nil
}

// Diff is a unified diff of what Write would change, "" when nothing.
func Diff(root string, files []File) (string, error) {
	var b strings.Builder
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if bytes.Equal(old, f.Data) {
			continue
		}
		from := "a/" + f.Path
		if old == nil {
			from = "/dev/null"
		}
		d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
			A: difflib.SplitLines(string(old)), B: difflib.SplitLines(string(f.Data)),
			FromFile: from, ToFile: "b/" + f.Path, Context: 3,
		})
		if err != nil {
			return "", err
		}
		b.WriteString(d)
	}
	return b.String(), nil
}

// Check compares the files with what is on disk: a DriftError names each
// that differs or is missing; ErrNotGenerated (wrapped in an InputError)
// when none of them was ever generated.
func Check(root string, files []File) error {
	var drift []string
	any := false
	for _, f := range files {
		old, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err == nil && generatedByUs(old) {
			any = true
		}
		if !bytes.Equal(old, f.Data) {
			drift = append(drift, f.Path)
		}
	}
	if !any {
		return &notGeneratedError{root: root}
	}
	if len(drift) > 0 {
		return &DriftError{Files: drift}
	}
	return nil
}

type notGeneratedError struct{ root string }

func (e *notGeneratedError) Error() string {
	return fmt.Sprintf("--check: %s was never generated (no %s, no file marked %q); run `deploy-action generate` first and commit what it writes", e.root, DefaultWorkflowPath, Marker)
}
func (e *notGeneratedError) Unwrap() error { return ErrNotGenerated }

// EverGenerated returns an error matching ErrNotGenerated when nothing in
// root was ever generated: no config file and no marked workflow. --check
// asks it first, so that such a repository gets that error, not another.
func EverGenerated(root string, lc *LoadedConfig) error {
	if _, err := os.Stat(filepath.Join(root, ConfigPath)); err == nil {
		return nil
	}
	wf := DefaultWorkflowPath
	if lc != nil && lc.Workflow.Path != "" {
		wf = lc.Workflow.Path
	}
	if data, err := os.ReadFile(filepath.Join(root, wf)); err == nil && generatedByUs(data) {
		return nil
	}
	return &notGeneratedError{root: root}
}
