package manifestpolicy

import (
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/deploy-action/deploy-action/pkg/render"
)

// object is one rendered object with what the checks ask of it.
type object struct {
	render.Object
	id, kind, namespace, name string
	annotations               map[string]string
	skips                     map[Check]string
}

// workload is an object that makes pods, with its pod template decoded.
type workload struct {
	obj  int
	kind string
	// specPath leads to the pod spec, metaPath to the pods' metadata.
	specPath, metaPath []string
	labels             map[string]string
	spec               corev1.PodSpec
	// replicas is how many pods run at once: spec.replicas (default 1), or
	// -1 for a DaemonSet (one a node).
	replicas int32
	// replicasLine is where spec.replicas is, else the object's first line.
	replicasLine int
	// claims are a StatefulSet's volumeClaimTemplates, by name.
	claims map[string]bool
}

// longRunning: a workload whose pods serve until replaced (not a Job's).
func (w *workload) longRunning() bool {
	switch w.kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController":
		return true
	}
	return false
}

// several: more than one pod at once.
func (w *workload) several() bool { return w.replicas > 1 || w.replicas < 0 }

func (w *workload) pods() string {
	if w.replicas < 0 {
		return "one pod on every node"
	}
	return fmt.Sprintf("%d replicas", w.replicas)
}

// container is one container of a workload, with where it sits.
type container struct {
	*corev1.Container
	field string // "containers" or "initContainers"
	index int
	init  bool
}

func (w *workload) containers() []container {
	var out []container
	for i := range w.spec.InitContainers {
		out = append(out, container{Container: &w.spec.InitContainers[i], field: "initContainers", index: i, init: true})
	}
	for i := range w.spec.Containers {
		out = append(out, container{Container: &w.spec.Containers[i], field: "containers", index: i})
	}
	return out
}

// path is where a container's field is, under the pod spec.
func (w *workload) path(c container, rest ...any) []any {
	p := make([]any, 0, len(w.specPath)+2+len(rest))
	for _, s := range w.specPath {
		p = append(p, s)
	}
	p = append(p, c.field, c.index)
	return append(p, rest...)
}

// release is the objects to check, with their workloads.
type release struct {
	objects   []*object
	workloads []*workload
}

// podTemplates are where each kind keeps its pods' metadata and spec.
var podTemplates = map[string][2][]string{
	"Pod":                   {{"metadata"}, {"spec"}},
	"PodTemplate":           {{"template", "metadata"}, {"template", "spec"}},
	"Deployment":            {{"spec", "template", "metadata"}, {"spec", "template", "spec"}},
	"ReplicaSet":            {{"spec", "template", "metadata"}, {"spec", "template", "spec"}},
	"ReplicationController": {{"spec", "template", "metadata"}, {"spec", "template", "spec"}},
	"StatefulSet":           {{"spec", "template", "metadata"}, {"spec", "template", "spec"}},
	"DaemonSet":             {{"spec", "template", "metadata"}, {"spec", "template", "spec"}},
	"Job":                   {{"spec", "template", "metadata"}, {"spec", "template", "spec"}},
	"CronJob":               {{"spec", "jobTemplate", "spec", "template", "metadata"}, {"spec", "jobTemplate", "spec", "template", "spec"}},
}

func newRelease(objects []render.Object, namespace string) (*release, error) {
	rel := &release{}
	var errs []error
	for _, ro := range objects {
		if ro.Node == nil {
			continue
		}
		o := &object{Object: ro, id: ro.ID(), kind: ro.Node.GetKind(), name: ro.Node.GetName(),
			namespace: ro.Node.GetNamespace(), annotations: ro.Node.GetAnnotations()}
		if o.namespace == "" {
			o.namespace = namespace
		}
		var err error
		if o.skips, err = skips(o); err != nil {
			errs = append(errs, err)
		}
		rel.objects = append(rel.objects, o)
		paths, ok := podTemplates[o.kind]
		if !ok {
			continue
		}
		w := &workload{obj: len(rel.objects) - 1, kind: o.kind, metaPath: paths[0], specPath: paths[1], replicas: 1}
		var meta struct {
			Labels map[string]string `json:"labels"`
		}
		if err := decode(ro.Node, paths[0], &meta); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: reading %s: %w", ro.Source, o.id, dotted(paths[0]), err))
			continue
		}
		if err := decode(ro.Node, paths[1], &w.spec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: reading %s: %w", ro.Source, o.id, dotted(paths[1]), err))
			continue
		}
		w.labels = meta.Labels
		w.replicasLine = ro.Node.YNode().Line
		switch o.kind {
		case "Deployment", "ReplicaSet", "ReplicationController", "StatefulSet":
			var spec struct {
				Replicas             *int32 `json:"replicas"`
				VolumeClaimTemplates []struct {
					Metadata struct {
						Name string `json:"name"`
					} `json:"metadata"`
				} `json:"volumeClaimTemplates"`
			}
			if err := decode(ro.Node, []string{"spec"}, &spec); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: reading spec: %w", ro.Source, o.id, err))
				continue
			}
			if spec.Replicas != nil {
				w.replicas = *spec.Replicas
				if l := line(ro.Node.YNode(), "spec", "replicas"); l > 0 {
					w.replicasLine = l
				}
			}
			for _, c := range spec.VolumeClaimTemplates {
				if w.claims == nil {
					w.claims = map[string]bool{}
				}
				w.claims[c.Metadata.Name] = true
			}
		case "DaemonSet":
			w.replicas = -1
		}
		rel.workloads = append(rel.workloads, w)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rel, nil
}

// decode reads the field at path of n into v, through JSON as the API server
// would; a missing field leaves v as it is.
func decode(n *yaml.RNode, path []string, v any) error {
	f, err := n.Pipe(yaml.Lookup(path...))
	if err != nil || f == nil {
		return err
	}
	// Straight from the tree: kyaml's MarshalJSON writes the YAML out and
	// parses it again, three times slower.
	var tree any
	if err := f.YNode().Decode(&tree); err != nil {
		return err
	}
	data, err := json.Marshal(tree)
	if err != nil {
		// A map with keys that are not strings: let kyaml convert it.
		if data, err = f.MarshalJSON(); err != nil {
			return err
		}
	}
	return json.Unmarshal(data, v)
}

func dotted(path []string) string {
	s := ""
	for i, p := range path {
		if i > 0 {
			s += "."
		}
		s += p
	}
	return s
}

// line is the line of the field at path (map keys as strings, sequence
// indexes as ints) in n, or of the deepest part of it that exists; the key's
// line for a map entry, where a reader looks.
func line(n *yaml.Node, path ...any) int {
	best := n.Line
	for _, p := range path {
		for n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
			n = n.Content[0]
		}
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return best
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					best, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return best
			}
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return best
			}
			n = n.Content[k]
			best = n.Line
		}
	}
	return best
}

// valueLine is the line of the value at path (where a multi-line value's
// text starts), or 0 when there is none.
func valueLine(n *yaml.Node, path ...any) (line int, block bool) {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return 0, false
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					next = n.Content[i+1]
					break
				}
			}
			if next == nil {
				return 0, false
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return 0, false
			}
			n = n.Content[k]
		}
	}
	block = n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	if block {
		// The text starts on the line after the "|" or ">".
		return n.Line + 1, true
	}
	return n.Line, false
}
