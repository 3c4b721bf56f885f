package render

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// Format is how a path is read.
type Format string

// The formats. Auto reads a directory with a kustomization file as Kustomize,
// one with Chart.yaml as Helm, any other as plain YAML; a .tgz file is a
// packaged chart, any other file plain YAML.
const (
	Auto      Format = "auto"
	YAML      Format = "yaml"
	Kustomize Format = "kustomize"
	Helm      Format = "helm"
)

// Spec says what to render.
type Spec struct {
	// Paths are files, directories and globs (filepath.Match syntax), each
	// rendered on its own, in order; "-" is the standard input. A directory of
	// plain YAML is read recursively: its *.yaml and *.yml files in sorted
	// order, hidden directories skipped.
	Paths []string
	// Format forces how every path is read; "" is Auto.
	Format Format

	// ReleaseName is the Helm release name (.Release.Name); default: the
	// chart's name.
	ReleaseName string
	// Namespace is the Helm release namespace (.Release.Namespace); default:
	// "default". Plain YAML and kustomizations are not changed by it: objects
	// without a namespace get one when they are applied.
	Namespace string
	// ValuesFiles are Helm values files, later ones winning, as helm -f.
	ValuesFiles []string
	// Values are Helm --set values ("a.b=c,d=e"), applied after the files.
	Values []string
	// SecretValues are secret Helm values, one key=value each, taken as
	// written (helm --set-literal: a value may hold "," or "="), applied
	// last. Errors about them name the line and the key, never the value.
	SecretValues []string
}

// Render reads the manifests spec names and returns their objects, in order;
// Phases splits them into the phases of a release (hooks, then the rest).
// Hooks that no install or upgrade runs (test, delete, rollback) are left out.
// It fails on a path that does not exist, on YAML that does not parse (with its
// file and line), on a document that is not an object a cluster accepts, and
// when nothing at all is found.
func Render(ctx context.Context, spec Spec, opts ...Option) ([]Object, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	r := &renderer{spec: spec, opts: o, fs: o.fs, read: map[string]bool{}}
	if o.root != "" {
		if r.fs, err = newConfined(o.fs, o.root, o.names); err != nil {
			return nil, err
		}
	}
	var objects []Object
	for _, p := range spec.Paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		objs, err := r.path(ctx, p)
		if err != nil {
			return nil, err
		}
		objects = append(objects, objs...)
	}
	// Test, delete and rollback hooks are never part of a release.
	if objects, err = releaseHooks(objects); err != nil {
		return nil, err
	}
	if len(objects) == 0 {
		return nil, field.Errorf(FieldPaths, "%w in %s (looked for *.yaml and *.yml files, a kustomization, a Helm chart); "+
			"fix the paths, relative to the working directory", ErrNoManifests, quoteAll(spec.Paths))
	}
	if r.charts == 0 && (len(spec.ValuesFiles) > 0 || len(spec.Values) > 0 || len(spec.SecretValues) > 0) {
		n := o.names.Of
		return nil, fmt.Errorf("%s, %s and %s are for a Helm chart, and %s holds none; name the chart directory (the one with Chart.yaml) in %s, or drop them",
			n(FieldValuesFiles), n(FieldValues), n(FieldSecretValues), quoteAll(spec.Paths), n(FieldPaths))
	}
	if err := checkDuplicates(objects); err != nil {
		return nil, err
	}
	return objects, nil
}

func (s Spec) validate() error {
	if len(s.Paths) == 0 {
		return field.Errorf(FieldPaths, `no path given; give files, directories or globs, e.g. "k8s/"`)
	}
	for _, p := range s.Paths {
		if strings.TrimSpace(p) == "" {
			return field.Errorf(FieldPaths, `a path is empty; give files, directories or globs, e.g. "k8s/"`)
		}
		if hasMeta(p) {
			if _, err := filepath.Match(p, ""); err != nil {
				return field.Errorf(FieldPaths, "%q is not a valid glob (%v); e.g. \"k8s/*.yaml\"", p, err)
			}
		}
	}
	switch s.Format {
	case "", Auto, YAML, Kustomize, Helm:
	default:
		return field.Errorf(FieldFormat, "%q is not a format; use auto, yaml, kustomize or helm", s.Format)
	}
	if s.ReleaseName != "" {
		if errs := validation.IsDNS1123Label(s.ReleaseName); len(errs) > 0 || len(s.ReleaseName) > 53 {
			return field.Errorf(FieldReleaseName, "%q is not a release name; use at most 53 lowercase letters, digits and '-'", s.ReleaseName)
		}
	}
	if s.Namespace != "" {
		if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
			return field.Errorf(FieldNamespace, "%q is not a namespace name: %s", s.Namespace, strings.Join(errs, "; "))
		}
	}
	return nil
}

type renderer struct {
	spec   Spec
	opts   *options
	fs     filesys.FileSystem
	charts int
	// read are the plain files read so far: a file named twice (by a
	// directory and a glob) is read once.
	read map[string]bool
}

// once reports whether file is read for the first time.
func (r *renderer) once(file string) bool {
	k := filepath.Clean(file)
	if r.read[k] {
		return false
	}
	r.read[k] = true
	return true
}

func hasMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

func (r *renderer) path(ctx context.Context, p string) ([]Object, error) {
	if p == "-" {
		if r.opts.stdin == nil {
			return nil, field.Errorf(FieldPaths, `"-" reads the standard input, which is not available here; name files instead`)
		}
		data, err := io.ReadAll(r.opts.stdin)
		if err != nil {
			return nil, fmt.Errorf("reading manifests from the standard input: %w", err)
		}
		return r.plain("<stdin>", data)
	}
	if !hasMeta(p) {
		return r.one(ctx, p)
	}
	matches, err := r.fs.Glob(p)
	if err != nil {
		return nil, field.Errorf(FieldPaths, "%q: %w", p, err)
	}
	if len(matches) == 0 {
		return nil, field.Errorf(FieldPaths, "%w: %q matches no file; fix the pattern, relative to the working directory", ErrNoManifests, p)
	}
	sort.Strings(matches)
	var objects []Object
	for _, m := range matches {
		objs, err := r.one(ctx, m)
		if err != nil {
			return nil, err
		}
		objects = append(objects, objs...)
	}
	return objects, nil
}

func (r *renderer) one(ctx context.Context, p string) ([]Object, error) {
	if !r.fs.Exists(p) {
		return nil, field.Errorf(FieldPaths, "%w: %q does not exist; fix the path, relative to the working directory", ErrNoManifests, p)
	}
	format := r.spec.Format
	if format == "" {
		format = Auto
	}
	if !r.fs.IsDir(p) {
		switch {
		case format == Kustomize:
			return nil, field.Errorf(FieldPaths, "%q is a file; kustomize reads a directory with a kustomization.yaml", p)
		case format == Helm, format == Auto && isArchive(p):
			r.charts++
			return r.helm(ctx, p)
		}
		if !r.once(p) {
			return nil, nil
		}
		data, err := r.fs.ReadFile(p)
		if err != nil {
			return nil, field.Errorf(FieldPaths, "reading %s: %w", p, err)
		}
		return r.plain(p, data)
	}
	if format == Auto {
		format = detect(r.fs, p)
	}
	switch format {
	case Kustomize:
		if kustomizationFile(r.fs, p) == "" {
			return nil, field.Errorf(FieldPaths, "%s has no kustomization.yaml; name the kustomization's directory, or set %s to auto", p, r.opts.names.Of(FieldFormat))
		}
		return r.kustomize(ctx, p)
	case Helm:
		if !r.fs.Exists(filepath.Join(p, "Chart.yaml")) {
			return nil, field.Errorf(FieldPaths, "%s has no Chart.yaml; name the chart's directory, or set %s to auto", p, r.opts.names.Of(FieldFormat))
		}
		r.charts++
		return r.helm(ctx, p)
	}
	return r.dir(ctx, p)
}

func isArchive(p string) bool { return strings.HasSuffix(p, ".tgz") || strings.HasSuffix(p, ".tar.gz") }

// detect says how a directory is read: a kustomization first (a kustomization
// may sit next to a chart to post-process it), then a chart, then plain YAML.
func detect(fs filesys.FileSystem, dir string) Format {
	switch {
	case kustomizationFile(fs, dir) != "":
		return Kustomize
	case fs.Exists(filepath.Join(dir, "Chart.yaml")):
		return Helm
	}
	return YAML
}

func kustomizationFile(fs filesys.FileSystem, dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if p := filepath.Join(dir, name); fs.Exists(p) && !fs.IsDir(p) {
			return p
		}
	}
	return ""
}

// dir reads the *.yaml and *.yml files under root, in sorted order. A
// subdirectory that is a kustomization or a chart is an error rather than a
// pile of files: its files are not objects (a kustomization.yaml, templates).
func (r *renderer) dir(ctx context.Context, root string) ([]Object, error) {
	var files []string
	var nested error
	err := r.fs.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if info.IsDir() {
			if filepath.Clean(p) == filepath.Clean(root) {
				return nil
			}
			if strings.HasPrefix(info.Name(), ".") {
				return filepath.SkipDir // .git, .github: never manifests
			}
			if f := detect(r.fs, p); f != YAML {
				nested = field.Errorf(FieldPaths, "%s, under %s, is a %s; name it (or its overlay) in %s on its own, not its parent",
					p, root, map[Format]string{Kustomize: "kustomization", Helm: "Helm chart"}[f], r.opts.names.Of(FieldPaths))
				return nested
			}
			return nil
		}
		if ext := filepath.Ext(p); ext == ".yaml" || ext == ".yml" {
			files = append(files, p)
		}
		return nil
	})
	if nested != nil {
		return nil, nested
	}
	if err != nil {
		return nil, field.Errorf(FieldPaths, "reading %s: %w", root, err)
	}
	sort.Strings(files)
	var objects []Object
	for _, f := range files {
		if !r.once(f) {
			continue
		}
		data, err := r.fs.ReadFile(f)
		if err != nil {
			return nil, field.Errorf(FieldPaths, "reading %s: %w", f, err)
		}
		objs, err := r.plain(f, data)
		if err != nil {
			return nil, err
		}
		objects = append(objects, objs...)
	}
	return objects, nil
}

func (r *renderer) plain(file string, data []byte) ([]Object, error) {
	objects, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	for _, o := range objects {
		if strings.HasPrefix(scalar(o.Node, "apiVersion"), "kustomize.config.k8s.io/") {
			return nil, &ObjectError{Source: o.Source, Msg: fmt.Sprintf(
				"is a %s for kustomize, not an object; name its directory in %s so that it is built", o.Node.GetKind(), r.opts.names.Of(FieldPaths))}
		}
	}
	return objects, nil
}

// checkDuplicates rejects an object defined twice: only one of them would be
// in the cluster, and which one depends on the order of the files.
func checkDuplicates(objects []Object) error {
	seen := map[string]Object{}
	for _, o := range objects {
		gv, _ := schema.ParseGroupVersion(scalar(o.Node, "apiVersion"))
		key := gv.Group + "|" + o.Node.GetKind() + "|" + o.Node.GetNamespace() + "|" + o.Node.GetName()
		if first, ok := seen[key]; ok {
			return &ObjectError{Source: o.Source, Msg: fmt.Sprintf(
				"%s is defined twice, here and at %s; keep one", o.ID(), first.Source)}
		}
		seen[key] = o
	}
	return nil
}

func quoteAll(ps []string) string {
	q := make([]string, len(ps))
	for i, p := range ps {
		q[i] = fmt.Sprintf("%q", p)
	}
	return strings.Join(q, ", ")
}
