package render

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/ignore"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// helm renders the chart at p (a directory or a .tgz) as `helm template`
// does, with the Helm SDK and no cluster: CRDs of crds/ first, then the
// pre-install and pre-upgrade hooks, the templates in Helm's install order,
// and the post-install and post-upgrade hooks. Test, delete and rollback hooks
// are left out: a deploy never runs them. The hooks keep their helm.sh/hook
// annotations, from which Phases makes the phases helm would run.
//
// The SDK's action package is not used: it would link Helm's release storage
// drivers (SQL among them) into the program for nothing.
func (r *renderer) helm(ctx context.Context, p string) ([]Object, error) {
	fail := func(err error) error { return field.Errorf(FieldPaths, "helm chart %s: %w", p, err) }
	ch, err := r.loadChart(p)
	if err != nil {
		return nil, fail(err)
	}
	if err := checkDependencies(ch); err != nil {
		return nil, fail(err)
	}
	vals, err := r.values()
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, fail(err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = r.opts.kubeVersion
	if kv := ch.Metadata.KubeVersion; kv != "" && !chartutil.IsCompatibleRange(kv, caps.KubeVersion.String()) {
		return nil, fail(fmt.Errorf("the chart requires Kubernetes %s (kubeVersion in Chart.yaml), and the cluster is %s; deploy it to a cluster it supports, or widen the chart's kubeVersion", kv, caps.KubeVersion.String()))
	}
	name := r.spec.ReleaseName
	if name == "" {
		name = ch.Name()
	}
	ns := r.spec.Namespace
	if ns == "" {
		ns = "default"
	}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, chartutil.ReleaseOptions{
		Name: name, Namespace: ns, Revision: 1, IsInstall: true,
	}, caps, false)
	if err != nil {
		return nil, fail(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	files, err := engine.Engine{}.Render(ch, top)
	if err != nil {
		return nil, fail(err)
	}
	for k := range files {
		if strings.HasSuffix(k, "NOTES.txt") {
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, fail(err)
	}
	sort.SliceStable(hooks, func(i, j int) bool {
		if hooks[i].Weight != hooks[j].Weight {
			return hooks[i].Weight < hooks[j].Weight
		}
		return hooks[i].Name < hooks[j].Name
	})

	// A template's Source names the file in the chart directory; its line is
	// in the rendered text, which is what a parse error is about.
	sourceOf := func(chartPath string) string {
		rel := strings.TrimPrefix(chartPath, ch.Name()+"/")
		return filepath.Join(p, filepath.FromSlash(rel))
	}
	var objects []Object
	add := func(chartPath, content string) error {
		src := sourceOf(chartPath)
		objs, err := parse([]byte(content), func(line int) string {
			return fmt.Sprintf("%s (helm chart %s, rendered line %d)", src, ch.Name(), line)
		}, src+" (as rendered)")
		if err != nil {
			return err
		}
		objects = append(objects, objs...)
		return nil
	}
	for _, crd := range ch.CRDObjects() {
		if err := add(crd.Filename, string(crd.File.Data)); err != nil {
			return nil, err
		}
	}
	for _, h := range hooks {
		if hasEvent(h, release.HookPreInstall, release.HookPreUpgrade) {
			if err := add(h.Path, h.Manifest); err != nil {
				return nil, err
			}
		}
	}
	for _, m := range manifests {
		if err := add(m.Name, m.Content); err != nil {
			return nil, err
		}
	}
	for _, h := range hooks {
		if !hasEvent(h, release.HookPreInstall, release.HookPreUpgrade) && hasEvent(h, release.HookPostInstall, release.HookPostUpgrade) {
			if err := add(h.Path, h.Manifest); err != nil {
				return nil, err
			}
		}
	}
	return objects, nil
}

func hasEvent(h *release.Hook, events ...release.HookEvent) bool {
	for _, e := range h.Events {
		for _, want := range events {
			if e == want {
				return true
			}
		}
	}
	return false
}

// loadChart reads a chart directory through r.fs, honouring .helmignore as
// helm does, or a packaged chart.
func (r *renderer) loadChart(p string) (*chart.Chart, error) {
	if !r.fs.IsDir(p) {
		data, err := r.fs.ReadFile(p)
		if err != nil {
			return nil, err
		}
		return loader.LoadArchive(bytes.NewReader(data))
	}
	rules := ignore.Empty()
	if data, err := r.fs.ReadFile(filepath.Join(p, ignore.HelmIgnore)); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("%s: %w", ignore.HelmIgnore, err)
		}
	}
	rules.AddDefaults()
	top := filepath.Clean(p)
	var files []*loader.BufferedFile
	err := r.fs.Walk(top, func(name string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, rerr := filepath.Rel(top, name)
		if rerr != nil || rel == "." {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if fi.IsDir() {
			if rules.Ignore(rel, fi) {
				return filepath.SkipDir
			}
			return nil
		}
		if rules.Ignore(rel, fi) {
			return nil
		}
		data, err := r.fs.ReadFile(name)
		if err != nil {
			return err
		}
		files = append(files, &loader.BufferedFile{Name: rel, Data: bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}

// checkDependencies fails when Chart.yaml lists a dependency that charts/
// does not hold, as helm install does.
func checkDependencies(ch *chart.Chart) error {
	var missing []string
outer:
	for _, d := range ch.Metadata.Dependencies {
		for _, have := range ch.Dependencies() {
			if have.Name() == d.Name {
				continue outer
			}
		}
		missing = append(missing, d.Name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("dependencies %s are listed in Chart.yaml and missing from charts/; run \"helm dependency build\" and commit charts/", strings.Join(missing, ", "))
	}
	return nil
}

// values merges the values files, then the --set values, as helm does.
func (r *renderer) values() (map[string]any, error) {
	base := map[string]any{}
	for _, f := range r.spec.ValuesFiles {
		data, err := r.opts.fs.ReadFile(f)
		if err != nil {
			return nil, field.Errorf(FieldValuesFiles, "reading %s: %w", f, err)
		}
		vals, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, field.Errorf(FieldValuesFiles, "%s is not a YAML mapping of values: %w", f, err)
		}
		base = mergeMaps(base, vals)
	}
	for i, s := range r.spec.Values {
		if err := strvals.ParseInto(s, base); err != nil {
			return nil, setError(FieldValues, i, s, `use key=value pairs, e.g. "image.tag=1.2.3,replicas=3"`)
		}
	}
	for i, s := range r.spec.SecretValues {
		if err := strvals.ParseLiteralInto(s, base); err != nil {
			return nil, setError(FieldSecretValues, i, s, `use one key=value a line, e.g. "db.password=...": the value is taken as written, "," included`)
		}
	}
	return base, nil
}

// setError says which line of a --set field (f) helm could not read. Helm's own
// message quotes the text, which may be a secret (a line with no "=" is all
// key to helm): only the line number and the key before the first "=" are
// named.
func setError(f string, i int, line, fix string) error {
	key, _, ok := strings.Cut(line, "=")
	if !ok || strings.TrimSpace(key) == "" {
		return field.Errorf(f, "line %d is not key=value; %s", i+1, fix)
	}
	return field.Errorf(f, "line %d (key %q) is not a key helm can set; %s", i+1, strings.TrimSpace(key), fix)
}

// mergeMaps is helm's values merge: b wins, nested maps merged.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if om, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
