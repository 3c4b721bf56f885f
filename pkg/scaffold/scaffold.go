package scaffold

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/deploy-action/deploy-action/pkg/detect"
	"github.com/deploy-action/deploy-action/templates"
)

// File is one generated file.
type File struct {
	// Path is relative to the repository root, with forward slashes.
	Path    string
	Content []byte
	Mode    fs.FileMode
	// Part is the part the file belongs to.
	Part Part
}

// Note tells the maintainer what the generator decided and why, or what is
// left to do ("no metrics: how to add them"). --explain prints them.
type Note struct {
	Part Part
	Text string
}

// Result is what Generate writes for one service, and why.
type Result struct {
	Files []File
	Notes []Note
}

// Files returns the files to write for svc, sorted by path. See Generate.
func Files(repo detect.Repository, svc detect.Service, opts Options) ([]File, error) {
	r, err := Generate(repo, svc, opts)
	return r.Files, err
}

// Generate returns the files svc is missing and the notes that explain them.
// A part the service already has files for (a Dockerfile, manifests, a
// kustomization or a chart) is left out unless forced, and a note says why.
// The same inputs give the same bytes.
func Generate(repo detect.Repository, svc detect.Service, opts Options) (Result, error) {
	s, err := opts.settings()
	if err != nil {
		return Result{}, err
	}
	v, notes, err := newView(repo, svc, s)
	if err != nil {
		return Result{}, err
	}
	g := &generator{view: v}
	g.decide(svc, s)
	// What the view noted matters only for the parts that are written.
	var kept []Note
	for _, n := range notes {
		if g.write[n.Part] {
			kept = append(kept, n)
		}
	}
	g.notes = append(kept, g.notes...)
	for _, p := range Parts {
		if !g.write[p] {
			continue
		}
		if err := g.render(p); err != nil {
			return Result{}, err
		}
	}
	sort.Slice(g.files, func(i, j int) bool { return g.files[i].Path < g.files[j].Path })
	order := map[Part]int{}
	for i, p := range Parts {
		order[p] = i
	}
	sort.SliceStable(g.notes, func(i, j int) bool { return order[g.notes[i].Part] < order[g.notes[j].Part] })
	return Result{Files: g.files, Notes: g.notes}, nil
}

type generator struct {
	view  *view
	write map[Part]bool
	files []File
	notes []Note
}

func (g *generator) note(p Part, format string, args ...any) {
	g.notes = append(g.notes, Note{Part: p, Text: fmt.Sprintf(format, args...)})
}

// decide chooses the parts to write: what the repository lacks, minus what is
// skipped, plus what is forced.
func (g *generator) decide(svc detect.Service, s settings) {
	v := g.view
	g.write = map[Part]bool{}
	have := map[Part]string{}
	if svc.Existing.Dockerfile != "" {
		have[Dockerfile] = "it has its own Dockerfile (" + svc.Existing.Dockerfile + ")"
	}
	var k8s []string
	switch {
	case svc.Existing.Chart != "":
		k8s = append(k8s, "a Helm chart ("+svc.Existing.Chart+")")
	case svc.Existing.Kustomization != "":
		k8s = append(k8s, "a kustomization ("+svc.Existing.Kustomization+")")
	case len(svc.Existing.Manifests) > 0:
		k8s = append(k8s, "Kubernetes manifests ("+strings.Join(svc.Existing.Manifests, ", ")+")")
	}
	if len(k8s) > 0 {
		why := "it has " + k8s[0]
		have[Kubernetes], have[Migrations], have[Database] = why, why, why
	}
	for _, p := range Parts {
		switch m := s.parts[p]; {
		case m == Skip:
			g.note(p, "%s: skipped (parts.%s: skip)", p, p)
		case m == Force:
			g.write[p] = true
			if why, ok := have[p]; ok {
				g.note(p, "%s: written although %s (parts.%s: force); the generated files sit beside it under %s", p, why, p, v.DeployDir)
			}
		case have[p] != "":
			g.note(p, "%s: nothing generated: %s; force it with parts.%s: force", p, have[p], p)
		default:
			g.write[p] = true
		}
	}
	// A part whose files refer to a skipped part cannot be written alone.
	for _, p := range Parts {
		if dep, ok := needs[p]; ok && g.write[p] && s.parts[dep] == Skip {
			g.write[p] = false
			g.note(p, "%s: skipped too, because it needs %s, which is skipped", p, dep)
		}
	}
	if g.write[Migrations] && len(v.MigrateCommand) == 0 {
		g.write[Migrations] = false
		g.note(Migrations, "migrations: no migration tool found (Alembic, Flask-Migrate, Django, or the app's own command); no Job generated")
	}
	if g.write[Database] && !v.Postgres {
		g.write[Database] = false
		g.note(Database, "database: the service uses no PostgreSQL; no staging database generated")
	}
	// The kustomization lists the Job and the database only when they are written.
	v.WithMigrations = g.write[Migrations]
	v.WithDatabase = g.write[Database]
	v.WithMonitoring = g.write[Monitoring]
	v.WithKubernetes = g.write[Kubernetes]
	if g.write[Monitoring] && !g.write[Kubernetes] {
		g.note(Monitoring, "monitoring: the ServiceMonitor selects the Service labelled app.kubernetes.io/name=%s and its port named http; the repository's own manifests must have them", v.Name)
	}
}

// templateSet lists each part's templates: the file under
// templates/scaffold and where it goes; "" skips a file for this view.
func (g *generator) templateSet(p Part) []struct{ tmpl, out string } {
	v := g.view
	type tf = struct{ tmpl, out string }
	switch p {
	case Dockerfile:
		return []tf{
			{"dockerfile/" + v.Kind + ".Dockerfile", path.Join(v.Dir, "Dockerfile")},
			{"dockerfile/dockerignore", path.Join(v.Dir, ".dockerignore")},
		}
	case Kubernetes:
		files := []tf{
			{"kubernetes/base/kustomization.yaml", v.DeployDir + "/base/kustomization.yaml"},
			{"kubernetes/base/deployment.yaml", v.DeployDir + "/base/deployment.yaml"},
			{"kubernetes/base/serviceaccount.yaml", v.DeployDir + "/base/serviceaccount.yaml"},
			{"kubernetes/base/configmap.yaml", v.DeployDir + "/base/configmap.yaml"},
			{"kubernetes/base/hpa.yaml", v.DeployDir + "/base/hpa.yaml"},
			{"kubernetes/base/pdb.yaml", v.DeployDir + "/base/pdb.yaml"},
			{"kubernetes/base/networkpolicy.yaml", v.DeployDir + "/base/networkpolicy.yaml"},
			{"kubernetes/overlays/staging/kustomization.yaml", v.DeployDir + "/overlays/staging/kustomization.yaml"},
			{"kubernetes/overlays/production/kustomization.yaml", v.DeployDir + "/overlays/production/kustomization.yaml"},
		}
		if v.Port > 0 {
			files = append(files, tf{"kubernetes/base/service.yaml", v.DeployDir + "/base/service.yaml"})
		}
		return files
	case Migrations:
		return []tf{{"kubernetes/base/job-migrate.yaml", v.DeployDir + "/base/job-migrate.yaml"}}
	case Database:
		return []tf{{"kubernetes/overlays/staging/postgres.yaml", v.DeployDir + "/overlays/staging/postgres.yaml"}}
	case Monitoring:
		files := []tf{
			{"monitoring/kustomization.yaml", v.DeployDir + "/monitoring/kustomization.yaml"},
			{"monitoring/rules.yaml", v.DeployDir + "/monitoring/rules.yaml"},
			{"monitoring/rules.test.yaml", v.DeployDir + "/monitoring/rules.test.yaml"},
			{"monitoring/prometheusrule.yaml", v.DeployDir + "/monitoring/prometheusrule.yaml"},
			{"monitoring/dashboard.yaml", v.DeployDir + "/monitoring/dashboard.yaml"},
		}
		if v.Metrics != nil {
			files = append(files, tf{"monitoring/servicemonitor.yaml", v.DeployDir + "/monitoring/servicemonitor.yaml"})
		}
		return files
	}
	return nil
}

func (g *generator) render(p Part) error {
	for _, f := range g.templateSet(p) {
		out, err := execute(f.tmpl, g.view)
		if err != nil {
			return err
		}
		g.files = append(g.files, File{Path: path.Clean(f.out), Content: out, Mode: 0o644, Part: p})
	}
	return nil
}

var parsed = func() *template.Template {
	t := template.New("scaffold").Option("missingkey=error").Funcs(funcs)
	// tmpl renders a named template to a string, to embed it (the rule
	// groups in both the rule file and the PrometheusRule).
	t.Funcs(template.FuncMap{"tmpl": func(name string, data any) (string, error) {
		var b strings.Builder
		err := t.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}})
	err := fs.WalkDir(templates.Scaffold, "scaffold", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templates.Scaffold, p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, "scaffold/"), ".tmpl")
		_, err = t.New(name).Parse(string(b))
		return err
	})
	if err != nil {
		panic(fmt.Sprintf("scaffold templates: %v", err))
	}
	return t
}()

func execute(name string, v *view) ([]byte, error) {
	var b bytes.Buffer
	if err := parsed.ExecuteTemplate(&b, name, v); err != nil {
		return nil, fmt.Errorf("rendering %s: %w", name, err)
	}
	// Templates may leave runs of blank lines where optional blocks were.
	out := bytes.TrimLeft(b.Bytes(), "\n")
	for bytes.Contains(out, []byte("\n\n\n")) {
		out = bytes.ReplaceAll(out, []byte("\n\n\n"), []byte("\n\n"))
	}
	return out, nil
}

// exists reports whether a file is in the service's directory.
func exists(root, dir, name string) bool {
	_, err := os.Stat(filepath.Join(root, filepath.FromSlash(dir), name))
	return err == nil
}

// contains reports whether a file of the service holds s.
func contains(root, dir, name, s string) bool {
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(dir), name))
	return err == nil && bytes.Contains(b, []byte(s))
}
