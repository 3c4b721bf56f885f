package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Parse reads a multi-document YAML stream into objects, named source in
// messages and in each Object's Source ("source:line"). Empty documents are
// skipped; a List (kind List, or any *List with items) gives its items.
// Every object must have an apiVersion, a kind and a metadata.name, and a kind
// of Kubernetes' own API groups must exist there.
func Parse(source string, data []byte) ([]Object, error) {
	return parse(data, func(line int) string { return source + ":" + strconv.Itoa(line) }, source)
}

// parse does Parse, with the objects' Source made by at from their line.
func parse(data []byte, at func(line int) string, file string) ([]Object, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(file, data, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		docs = append(docs, &doc)
	}
	lines := strings.Split(string(data), "\n")
	var objects []Object
	for i, doc := range docs {
		n := doc.Content[0]
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			continue // "---" with nothing, or only comments
		}
		if n.Kind != yaml.MappingNode {
			return nil, &ObjectError{Source: at(n.Line), Msg: fmt.Sprintf(
				"the document is a %s, not a Kubernetes object; an object is a mapping with apiVersion, kind and metadata.name", kindName(n))}
		}
		if err := checkKeys(n, at); err != nil {
			return nil, err
		}
		// Each document keeps its own sequence indentation: files joined from
		// several sources mix them.
		end := len(lines)
		if i+1 < len(docs) {
			end = min(max(docs[i+1].Content[0].Line-1, 0), len(lines))
		}
		start := min(max(n.Line-1, 0), end)
		style := yaml.SequenceIndentStyle(yaml.DeriveSeqIndentStyle(strings.Join(lines[start:end], "\n")))
		// yaml.v3 gives a comment at the top of a document to the document, which
		// the object does not keep; hand it to the object's mapping.
		n.HeadComment = joinComments(doc.HeadComment, n.HeadComment)
		n.FootComment = joinComments(n.FootComment, doc.FootComment)
		rn := yaml.NewRNode(n)
		items, err := listItems(rn, at)
		if err != nil {
			return nil, err
		}
		if items == nil {
			items = []*yaml.Node{n}
		}
		for _, item := range items {
			o := Object{Source: at(item.Line), Node: yaml.NewRNode(item), seqIndent: style, at: at}
			if err := check(o); err != nil {
				return nil, err
			}
			objects = append(objects, o)
		}
	}
	return objects, nil
}

// joinComments joins two comment blocks. Blank lines between them are
// dropped: yaml.v3 splits a block at a blank line between the document and its
// first node differently each time it reads it back, so keeping them would
// make Encode unstable.
func joinComments(a, b string) string {
	c := a + "\n" + b
	switch {
	case a == "":
		c = b
	case b == "":
		c = a
	}
	for strings.Contains(c, "\n\n") {
		c = strings.ReplaceAll(c, "\n\n", "\n")
	}
	return c
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "plain value"
	case yaml.AliasNode:
		return "alias"
	}
	return "mapping"
}

// listItems returns the items of a List (v1 List, or any kind ending in List
// that has items, as kubectl reads them), or nil when rn is not a list.
func listItems(rn *yaml.RNode, at func(int) string) ([]*yaml.Node, error) {
	if !strings.HasSuffix(rn.GetKind(), "List") {
		return nil, nil
	}
	items := rn.Field("items")
	if items == nil {
		return nil, nil
	}
	if items.Value.YNode().Kind != yaml.SequenceNode {
		return nil, &ObjectError{Source: at(items.Value.YNode().Line), Msg: rn.GetKind() + ": items is not a list"}
	}
	var out []*yaml.Node
	for _, it := range items.Value.YNode().Content {
		if it.Kind != yaml.MappingNode {
			return nil, &ObjectError{Source: at(it.Line), Msg: fmt.Sprintf(
				"%s item is a %s, not a Kubernetes object", rn.GetKind(), kindName(it))}
		}
		if a := foreignAlias(it); a != nil {
			return nil, &ObjectError{Source: at(a.Line), Msg: fmt.Sprintf(
				"alias *%s refers to an anchor outside this %s item; items become separate objects, so write the value out", a.Value, rn.GetKind())}
		}
		out = append(out, it)
	}
	return out, nil
}

// foreignAlias returns an alias under n whose anchor is not under n.
func foreignAlias(n *yaml.Node) *yaml.Node {
	anchors := map[string]bool{}
	var aliases []*yaml.Node
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Anchor != "" {
			anchors[n.Anchor] = true
		}
		if n.Kind == yaml.AliasNode {
			aliases = append(aliases, n)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	for _, a := range aliases {
		if !anchors[a.Value] {
			return a
		}
	}
	return nil
}

// check says what keeps o from being an object a cluster accepts.
func check(o Object) error {
	n := o.Node
	apiVersion, kind := scalar(n, "apiVersion"), scalar(n, "kind")
	fail := func(format string, args ...any) error {
		return &ObjectError{Source: o.Source, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case apiVersion == "" && kind == "":
		return fail("the object has no apiVersion and no kind; add them, e.g. \"apiVersion: apps/v1\" and \"kind: Deployment\"")
	case kind == "":
		return fail("the object (apiVersion %s) has no kind; add one, e.g. \"kind: Deployment\"", apiVersion)
	case apiVersion == "":
		if gv, ok := apiVersionOf(kind); ok {
			return fail("the %s has no apiVersion; add \"apiVersion: %s\"", kind, gv.String())
		}
		return fail("the %s has no apiVersion; add the group/version that serves it", kind)
	}
	if msg := checkType(apiVersion, kind); msg != "" {
		return fail("%s", msg)
	}
	md := n.Field("metadata")
	if md == nil || md.Value.YNode().Kind != yaml.MappingNode {
		return fail("the %s has no metadata; add \"metadata: {name: ...}\"", kind)
	}
	if scalar(md.Value, "name") == "" {
		if scalar(md.Value, "generateName") != "" {
			return fail("the %s has generateName but no name; deploys are applied by name, so give it metadata.name", kind)
		}
		return fail("the %s has no metadata.name; give it one", kind)
	}
	return nil
}

// scalar returns the string value of a mapping's key, "" when absent or not a
// string.
func scalar(n *yaml.RNode, key string) string {
	f := n.Field(key)
	if f == nil || f.Value.YNode().Kind != yaml.ScalarNode || f.Value.YNode().Tag == "!!null" {
		return ""
	}
	return f.Value.YNode().Value
}

// checkKeys rejects a key repeated in one mapping: YAML parsers keep the last
// one silently, so the second "env:" of a container would drop the first.
func checkKeys(n *yaml.Node, at func(int) string) error {
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode && k.Value != "<<" {
				if first, ok := seen[k.Value]; ok {
					return &ObjectError{Source: at(k.Line), Msg: fmt.Sprintf(
						"key %q is repeated (first at line %d); YAML keeps only the last, so merge them", k.Value, first)}
				}
				seen[k.Value] = k.Line
			}
			if err := checkKeys(n.Content[i+1], at); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := checkKeys(c, at); err != nil {
				return err
			}
		}
	}
	return nil
}
