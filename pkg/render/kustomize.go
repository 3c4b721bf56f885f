package render

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/deploy-action/deploy-action/pkg/field"
)

// originAnnotation is where kustomize records the file each object came from,
// when the kustomization asks for it (buildMetadata: [originAnnotations]).
const originAnnotation = "config.kubernetes.io/origin"

// kustomize builds the kustomization in dir with the kustomize Go API, as
// `kubectl kustomize` does, and gives each object the file it came from.
func (r *renderer) kustomize(ctx context.Context, dir string) ([]Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := krusty.MakeDefaultOptions()
	// As kubectl kustomize: kustomize's legacy order (namespaces, CRDs, ...
	// first), unless the kustomization sets sortOptions.
	opts.Reorder = krusty.ReorderOptionUnspecified
	if r.opts.root != "" {
		// r.fs refuses anything outside the root already.
		opts.LoadRestrictions = types.LoadRestrictionsNone
	}
	fs := &originFS{FileSystem: r.fs}
	if root, err := filesys.ConfirmDir(r.fs, dir); err == nil {
		fs.root = root.String()
	}
	m, err := krusty.MakeKustomizer(opts).Run(fs, dir)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "is not in or below") {
			msg += "; a kustomization may only read files in or below its directory unless " + r.opts.names.Of(FieldRoot) + " names a directory holding them all"
		}
		return nil, field.Errorf(FieldPaths, "kustomization %s: %s", dir, msg)
	}
	var objects []Object
	for _, res := range m.Resources() {
		origin, err := res.GetOrigin()
		if err != nil {
			return nil, fmt.Errorf("kustomization %s: reading where %s/%s came from: %w", dir, res.GetKind(), res.GetName(), err)
		}
		source := dir + " (kustomization)"
		switch {
		case origin == nil:
		case origin.Repo != "":
			source = origin.Repo + "//" + origin.Path + " (kustomization " + dir + ")"
		case origin.Path != "":
			source = filepath.Join(dir, origin.Path) + " (kustomization " + dir + ")"
		case origin.ConfiguredIn != "":
			// Made by a generator: name the file that configures it.
			source = filepath.Join(dir, origin.ConfiguredIn) + " (" + origin.ConfiguredBy.Kind + ")"
		}
		if !fs.userOrigin {
			if err := clearAnnotation(&res.RNode, originAnnotation); err != nil {
				return nil, fmt.Errorf("kustomization %s: %w", dir, err)
			}
		}
		// The node, not res.AsYAML: that goes through JSON, which sorts the
		// keys and drops the comments.
		data, err := res.RNode.String()
		if err != nil {
			return nil, fmt.Errorf("kustomization %s: encoding %s/%s: %w", dir, res.GetKind(), res.GetName(), err)
		}
		objs, err := parse([]byte(data), func(int) string { return source }, source)
		if err != nil {
			return nil, err
		}
		objects = append(objects, objs...)
	}
	return objects, nil
}

// originFS asks kustomize to record where each object came from, by adding
// originAnnotations to the buildMetadata of the top kustomization as it is
// read; the annotations are removed again unless the kustomization asked for
// them itself.
type originFS struct {
	filesys.FileSystem
	root       string
	userOrigin bool
}

func (f *originFS) ReadFile(p string) ([]byte, error) {
	data, err := f.FileSystem.ReadFile(p)
	if err != nil || f.root == "" || filepath.Dir(p) != f.root || !isKustomizationName(filepath.Base(p)) {
		return data, err
	}
	node, perr := yaml.Parse(string(data))
	if perr != nil {
		return data, nil // kustomize reports it
	}
	bm, perr := node.Pipe(yaml.LookupCreate(yaml.SequenceNode, "buildMetadata"))
	if perr != nil || bm == nil {
		return data, nil
	}
	for _, e := range bm.Content() {
		if e.Value == types.OriginAnnotations {
			f.userOrigin = true
			return data, nil
		}
	}
	bm.YNode().Style = 0
	bm.YNode().Content = append(bm.YNode().Content, &yaml.Node{Kind: yaml.ScalarNode, Value: types.OriginAnnotations})
	out, perr := node.String()
	if perr != nil {
		return data, nil
	}
	return []byte(out), nil
}

func isKustomizationName(name string) bool {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if n == name {
			return true
		}
	}
	return false
}

// clearAnnotation removes an annotation, and the annotations with it when
// that was the only one.
func clearAnnotation(n *yaml.RNode, key string) error {
	if err := n.PipeE(yaml.ClearAnnotation(key)); err != nil {
		return err
	}
	md := n.Field("metadata")
	if md == nil {
		return nil
	}
	if a := md.Value.Field("annotations"); a != nil && len(a.Value.YNode().Content) == 0 {
		_, err := md.Value.Pipe(yaml.Clear("annotations"))
		return err
	}
	return nil
}
