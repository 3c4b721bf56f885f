package pin

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/render"
)

// Container is one container of a rendered object.
type Container struct {
	// Object is "Deployment/shop", Source the object's (see render.Object).
	Object, Source string
	// Field is where the container is: "spec.template.spec.containers[0]".
	Field string
	// Name is the container's name.
	Name string
	// Image is its image as the manifest wrote it.
	Image string
}

// Change is a container whose image Pin rewrote.
type Change struct {
	Container
	// New is the image written: "docker.io/acme/shop@sha256:...".
	New string
}

// Result is what Pin did.
type Result struct {
	// Objects are copies of the objects given, with their images pinned; the
	// objects given are not changed.
	Objects []render.Object
	// Changes are the containers whose image changed, in object order.
	Changes []Change
	// Containers are all the containers met, pinned or not, in object order.
	Containers []Container
	// Warnings say what deserves a look but did not stop Pin: mappings that
	// matched nothing under WithUnmatched(Warn).
	Warnings []string
}

// Pin rewrites, in copies of objects, the image of every container that a
// mapping matches: containers, initContainers and ephemeralContainers of Pods,
// PodTemplates, ReplicationControllers, Deployments, ReplicaSets,
// StatefulSets, DaemonSets, Jobs and CronJobs. Only the image values change;
// comments, key order and every other field stay as they were. A mapping that
// matches no container is an error (see WithUnmatched): it almost always
// means the manifests would deploy something other than what was pushed.
func Pin(objects []render.Object, mappings []Mapping, opts ...Option) (*Result, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if len(mappings) == 0 {
		return nil, fmt.Errorf("nothing to pin: no image was pushed and %s is empty", o.names.Of(FieldMappings))
	}
	mappings = append([]Mapping(nil), mappings...) // compiled here, not in the caller's slice
	idx, err := index(mappings, o.names)
	if err != nil {
		return nil, err
	}
	res := &Result{Objects: make([]render.Object, len(objects))}
	matched := make([]bool, len(mappings))
	var errs []error
	for i, obj := range objects {
		c := obj.Copy()
		res.Objects[i] = c
		if c.Node == nil {
			continue
		}
		w := &walker{obj: c, idx: idx, mappings: mappings, matched: matched, res: res, shared: aliased(c.Node.YNode())}
		if err := w.object(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for i, m := range mappings {
		if matched[i] {
			continue
		}
		msg := unmatched(m, res.Containers, o.names)
		if o.unmatched == Warn {
			res.Warnings = append(res.Warnings, msg)
			continue
		}
		errs = append(errs, &UnmatchedError{Mapping: m, msg: msg})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return res, nil
}

// UnmatchedError is a mapping that matched no container.
type UnmatchedError struct {
	Mapping Mapping
	msg     string
}

func (e *UnmatchedError) Error() string { return e.msg }

func unmatched(m Mapping, containers []Container, names field.Names) string {
	var used []string
	seen := map[string]bool{}
	for _, c := range containers {
		s := fmt.Sprintf("%s (%s)", c.Image, c.Object)
		if !seen[s] {
			seen[s] = true
			used = append(used, s)
		}
	}
	what := "the manifests have no containers"
	if len(used) > 0 {
		const most = 8
		if len(used) > most {
			used = append(used[:most], fmt.Sprintf("and %d more", len(used)-most))
		}
		what = "the containers use " + strings.Join(used, ", ")
	}
	fix := `correct the repository, or drop the mapping`
	if m.from == pushedImage {
		fix = `name the pushed repository in the manifests (e.g. "image: ` + m.Match[0] + `:latest"), or map it with ` + names.Of(FieldMappings)
	}
	return fmt.Sprintf("%s (%s) matches no container, so the deploy would not run it: %s; %s",
		m.name(names), strings.Join(m.Match, ", "), what, fix)
}

// key identifies a matcher: its normalised repository and tag.
func key(repo, tag string) string { return repo + ":" + tag }

// index maps each matcher to its mapping, refusing a repository (or
// repository:tag) mapped twice.
func index(mappings []Mapping, names field.Names) (map[string]int, error) {
	idx := map[string]int{}
	for i := range mappings {
		if err := mappings[i].compile(); err != nil {
			return nil, fmt.Errorf("%s: %w", mappings[i].name(names), err)
		}
		for _, mt := range mappings[i].matches {
			k := key(mt.repo.Name(), mt.tag)
			if j, ok := idx[k]; ok && j != i {
				return nil, fmt.Errorf("%s and %s both map %s; keep one", mappings[j].name(names), mappings[i].name(names), mt.text)
			}
			idx[k] = i
		}
	}
	return idx, nil
}

// podSpecPaths are where each kind keeps its pod spec, by group ("" is core).
var podSpecPaths = map[string][]string{
	"/Pod":                   {"spec"},
	"/PodTemplate":           {"template", "spec"},
	"/ReplicationController": {"spec", "template", "spec"},
	"apps/Deployment":        {"spec", "template", "spec"},
	"apps/ReplicaSet":        {"spec", "template", "spec"},
	"apps/StatefulSet":       {"spec", "template", "spec"},
	"apps/DaemonSet":         {"spec", "template", "spec"},
	"extensions/Deployment":  {"spec", "template", "spec"},
	"extensions/ReplicaSet":  {"spec", "template", "spec"},
	"extensions/DaemonSet":   {"spec", "template", "spec"},
	"batch/Job":              {"spec", "template", "spec"},
	"batch/CronJob":          {"spec", "jobTemplate", "spec", "template", "spec"},
	"batch/ScheduledJob":     {"spec", "jobTemplate", "spec", "template", "spec"},
}

var containerFields = []string{"initContainers", "containers", "ephemeralContainers"}

type walker struct {
	obj      render.Object
	idx      map[string]int
	mappings []Mapping
	matched  []bool
	res      *Result
	shared   map[*yaml.Node]bool
}

func (w *walker) object() error {
	n := w.obj.Node
	gv, err := schema.ParseGroupVersion(n.GetApiVersion())
	if err != nil {
		return nil // not an object of a kind with containers
	}
	path := podSpecPaths[gv.Group+"/"+n.GetKind()]
	if path == nil {
		return nil
	}
	spec, shared := n.YNode(), false
	for _, k := range path {
		spec, shared = w.child(spec, k, shared)
		if spec == nil {
			return nil
		}
	}
	var errs []error
	for _, field := range containerFields {
		list, sh := w.child(spec, field, shared)
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for i, item := range list.Content {
			item, sh := deref(item, sh || w.shared[item])
			if item.Kind != yaml.MappingNode {
				continue
			}
			at := fmt.Sprintf("%s.%s[%d]", strings.Join(path, "."), field, i)
			if err := w.container(item, at, sh); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (w *walker) container(c *yaml.Node, at string, shared bool) error {
	img, shared := w.child(c, "image", shared)
	if img == nil || img.Kind != yaml.ScalarNode {
		return nil
	}
	nameNode, _ := w.child(c, "name", false)
	ctr := Container{Object: w.obj.ID(), Source: w.obj.Source, Field: at, Image: img.Value}
	if nameNode != nil && nameNode.Kind == yaml.ScalarNode {
		ctr.Name = nameNode.Value
	}
	w.res.Containers = append(w.res.Containers, ctr)
	i, ok := w.match(img.Value)
	if !ok {
		return nil
	}
	w.matched[i] = true
	m := w.mappings[i]
	target := m.Target
	if target == "" {
		target = repositoryAsWritten(img.Value)
	}
	pinned := target + "@" + m.Digest
	if pinned == img.Value {
		return nil
	}
	if shared {
		return fmt.Errorf("%s (%s): the image of container %q is shared through a YAML anchor and alias, so pinning it would change other fields too; write the image out in the container",
			ctr.Object, ctr.Source, ctr.Name)
	}
	img.Value, img.Tag = pinned, "!!str"
	if img.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		img.Style = 0 // a block scalar would add a line break
	}
	w.res.Changes = append(w.res.Changes, Change{Container: ctr, New: pinned})
	return nil
}

// match finds the mapping for an image: one for its repository and tag first,
// then one for its repository.
func (w *walker) match(image string) (int, bool) {
	repo, tag, ok := parseImage(image)
	if !ok {
		return 0, false
	}
	if tag != "" {
		if i, ok := w.idx[key(repo.Name(), tag)]; ok {
			return i, true
		}
	}
	i, ok := w.idx[key(repo.Name(), "")]
	return i, ok
}

// parseImage parses a container's image: its repository and its tag
// ("latest" when it names none and has no digest, as the kubelet pulls it).
func parseImage(image string) (name.Repository, string, bool) {
	if image == "" || strings.TrimSpace(image) != image {
		return name.Repository{}, "", false
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return name.Repository{}, "", false
	}
	switch r := ref.(type) {
	case name.Tag:
		return r.Context(), r.TagStr(), true
	case name.Digest:
		// name.Digest drops a tag written before the digest
		// ("shop:1.2@sha256:..."): the kubelet pulls by digest alone, but a
		// mapping for shop:1.2 is meant to match the container.
		base := strings.TrimSuffix(image, "@"+r.DigestStr())
		if _, err := name.NewRepository(base); err != nil {
			if t, err := name.NewTag(base); err == nil {
				return r.Context(), t.TagStr(), true
			}
		}
		return r.Context(), "", true
	}
	return name.Repository{}, "", false
}

// repositoryAsWritten is image without its tag and digest, spelled as the
// manifest spelled it. image has parsed as a reference, so the last ':' after
// the last '/' starts the tag (a ':' before it is a registry's port).
func repositoryAsWritten(image string) string {
	base, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(base, ":"); i > strings.LastIndex(base, "/") {
		base = base[:i]
	}
	return base
}

// child returns the value of key in mapping n, following aliases; shared
// becomes true once the way leads through a node that something else aliases.
func (w *walker) child(n *yaml.Node, key string, shared bool) (*yaml.Node, bool) {
	n, shared = deref(n, shared || w.shared[n])
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, shared
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			v := n.Content[i+1]
			return deref(v, shared || w.shared[v])
		}
	}
	return nil, shared
}

func deref(n *yaml.Node, shared bool) (*yaml.Node, bool) {
	for n != nil && n.Kind == yaml.AliasNode {
		n, shared = n.Alias, true
	}
	return n, shared
}

// aliased returns the nodes under n that an alias refers to. Anchors are
// matched by name, not by pointer: a copied tree's aliases still point into
// the tree it was copied from.
func aliased(n *yaml.Node) map[*yaml.Node]bool {
	names := map[string]bool{}
	var all []*yaml.Node
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		all = append(all, n)
		if n.Kind == yaml.AliasNode {
			names[n.Value] = true
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	out := map[*yaml.Node]bool{}
	for _, n := range all {
		if n.Anchor != "" && names[n.Anchor] {
			out[n] = true
		}
	}
	return out
}
