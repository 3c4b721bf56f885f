package generate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

// FilesPart writes what a service is missing besides the workflow: the
// Dockerfile and .dockerignore, the Kubernetes manifests and the monitoring
// files (pkg/scaffold), with the options of the config file's files: section.
// The manifests name the image the release job pushes, so that the deploy
// jobs' image-map pins them.
func FilesPart() Part { return filesPart{} }

type filesPart struct{}

func (filesPart) Name() string { return "files" }

func (filesPart) Files(_ context.Context, in *Input) ([]File, []string, error) {
	opts, err := filesOptions(&in.Config.Files)
	if err != nil {
		return nil, nil, err
	}
	var files []File
	var notes []string
	for i, svc := range in.Repo.Services {
		o := opts
		if img := in.Plan.Services[i].Image; o.Image == "" && !strings.Contains(img, "${{") {
			o.Image = img
		}
		r, err := scaffold.Generate(in.Repo, svc, o)
		if err != nil {
			var oe *scaffold.OptionError
			if errors.As(err, &oe) {
				return nil, nil, &InputError{Field: "key \"files." + oe.Key + "\"", File: ConfigPath, Value: oe.Value, Problem: oe.Problem, Fix: oe.Fix}
			}
			return nil, nil, fmt.Errorf("service %s: %w", svc.Name, err)
		}
		for _, f := range r.Files {
			// These files are the maintainer's once written: a later run
			// leaves them as they are, edited or not.
			if _, err := os.Stat(filepath.Join(in.Repo.Root, filepath.FromSlash(f.Path))); err == nil {
				continue
			}
			files = append(files, File{Path: f.Path, Data: f.Content})
		}
		for _, n := range r.Notes {
			notes = append(notes, fmt.Sprintf("service %s: %s", svc.Name, n.Text))
		}
	}
	return files, notes, nil
}

// filesOptions decodes the files: section strictly: an unknown key is an
// error at its line (yaml.v3 has no KnownFields for Node.Decode, so the keys
// are checked against the struct's yaml tags first).
func filesOptions(n *yaml.Node) (scaffold.Options, error) {
	var o scaffold.Options
	if n == nil || n.Kind == 0 {
		return o, nil
	}
	if err := knownKeys(n, reflect.TypeOf(o), "files"); err != nil {
		return o, err
	}
	if err := n.Decode(&o); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			ie := &InputError{Field: "config value", File: ConfigPath, Problem: configProblem(te.Errors[0]), Fix: "see the files section in README"}
			if m := yamlLine.FindStringSubmatch(te.Errors[0]); m != nil {
				fmt.Sscan(m[1], &ie.Line)
				ie.Problem = configProblem(m[2])
			}
			return o, ie
		}
		return o, err
	}
	return o, nil
}

func knownKeys(n *yaml.Node, t reflect.Type, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
			if name == "" {
				name = strings.ToLower(t.Field(i).Name)
			}
			fields[name] = t.Field(i).Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			ft, ok := fields[k.Value]
			if !ok {
				return &InputError{Field: "config value", File: ConfigPath, Line: k.Line, Problem: fmt.Sprintf("has unknown key %q under %s (remove it or correct its spelling)", k.Value, at), Fix: "see the files section in README"}
			}
			if err := knownKeys(n.Content[i+1], ft, at+"."+k.Value); err != nil {
				return err
			}
		}
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Map:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := knownKeys(n.Content[i+1], t.Elem(), at+"."+n.Content[i].Value); err != nil {
				return err
			}
		}
	}
	return nil
}
