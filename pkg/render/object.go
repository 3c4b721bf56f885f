package render

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Object is one rendered Kubernetes object.
type Object struct {
	// Source says where the object came from, for messages: "k8s/app.yaml:12"
	// for a file (the line of its first key), "chart/templates/app.yaml (helm
	// chart chart)" for a chart template, "overlay/../base/app.yaml (kustomization
	// overlay)" for a kustomization.
	Source string
	// Node is the object as a YAML tree, comments and key order included.
	Node *yaml.RNode

	// seqIndent is how the source indented sequences, kept so that Encode
	// writes an untouched object back the way it was read.
	seqIndent yaml.SequenceIndentStyle
	// at names a line of the text the object was parsed from, as Source
	// names its first; nil when the object was not parsed.
	at func(line int) string
}

// At says where line (a yaml.Node's Line in o's tree) came from, in Source's
// form: "k8s/app.yaml:31" for a file, the rendered line for a chart template.
// A kustomization's output has no lines of its own, so it gives Source; so
// does an object not made by Parse or Render, or a line of 0.
func (o Object) At(line int) string {
	if o.at == nil || line <= 0 {
		return o.Source
	}
	return o.at(line)
}

// ID names the object for people: "Deployment/shop", or "Deployment/shop in
// namespace prod" when its namespace is set.
func (o Object) ID() string {
	if o.Node == nil {
		return "<nil>"
	}
	id := o.Node.GetKind() + "/" + o.Node.GetName()
	if ns := o.Node.GetNamespace(); ns != "" {
		id += " in namespace " + ns
	}
	return id
}

// Copy returns an object whose tree can be changed without changing o's.
func (o Object) Copy() Object {
	c := o
	if o.Node != nil {
		c.Node = o.Node.Copy()
	}
	return c
}

// Unstructured converts the object for client-go (apply, dynamic clients).
func (o Object) Unstructured() (*unstructured.Unstructured, error) {
	if o.Node == nil {
		return nil, fmt.Errorf("%s: empty object", o.Source)
	}
	data, err := o.Node.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("%s: converting %s to JSON: %w", o.Source, o.ID(), err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", o.Source, o.ID(), err)
	}
	return u, nil
}

// Encode writes objects as one multi-document YAML stream, each with its
// comments, key order and sequence indentation.
func Encode(objects []Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objects {
		if o.Node == nil {
			return nil, fmt.Errorf("object %d (%s): empty", i, o.Source)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		style := o.seqIndent
		if style == "" {
			style = yaml.CompactSequenceStyle
		}
		enc := yaml.NewEncoderWithOptions(&buf, &yaml.EncoderOptions{SeqIndent: style})
		if err := enc.Encode(o.Node.YNode()); err != nil {
			return nil, fmt.Errorf("%s: encoding %s: %w", o.Source, o.ID(), err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("%s: encoding %s: %w", o.Source, o.ID(), err)
		}
	}
	return buf.Bytes(), nil
}
