package strictyaml

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Problem is the kind of an Error.
type Problem int

// Kinds of problem.
const (
	// Syntax: the text is not YAML.
	Syntax Problem = iota + 1
	// UnknownField: a key the Go type has no field for.
	UnknownField
	// DuplicateKey: a key set twice in one mapping.
	DuplicateKey
	// WrongType: a value of the wrong shape or type (a list for a mapping, a
	// word for a number).
	WrongType
	// Invalid: anything else the decoder refused, at a line.
	Invalid
)

// Error is a problem at a place in a document.
type Error struct {
	Problem Problem
	// Line is the document's line, from 1 (0 when unknown).
	Line int
	// Path leads from the root to the key or value at fault.
	Path Path
	// Fields are the keys the mapping takes (UnknownField).
	Fields []string
	// Want is the Go type expected (WrongType), and Found what stands there:
	// a quoted scalar, "a list" or "a mapping".
	Want  reflect.Type
	Found string
	// Msg is the decoder's own message, without its line.
	Msg string
	// Err is the decoder's error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if len(e.Path) > 0 {
		b.WriteString(e.Path.String() + ": ")
	}
	switch e.Problem {
	case UnknownField:
		fmt.Fprintf(&b, "unknown field; the fields here are %s", strings.Join(e.Fields, ", "))
	case DuplicateKey:
		b.WriteString("is set twice")
	case WrongType:
		fmt.Fprintf(&b, "found %s; expected %s", e.Found, e.Want)
	default:
		b.WriteString(e.Msg)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Path is a place in a document: mapping keys (string) and list indices (int).
type Path []any

// String writes the path as commandTests[1].exitCode.
func (p Path) String() string {
	var b strings.Builder
	for _, e := range p {
		switch e := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", e)
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			fmt.Fprint(&b, e)
		}
	}
	return b.String()
}

// Decode decodes the first document of data into v, a pointer, with yaml.v3's
// KnownFields and unique keys, and returns the document's root node (nil when
// the document is empty, and v is then left as it was) for callers that want
// lines or key order. Every error is an *Error.
func Decode(data []byte, v any) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := lineOf(err.Error())
		return nil, &Error{Problem: Syntax, Line: line, Msg: msg, Err: err}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return root, locate(root, reflect.TypeOf(v), err)
	}
	return root, nil
}

var lineRE = regexp.MustCompile(`^line (\d+): `)

// lineOf takes the line out of a yaml.v3 message. yaml.v3 reports a place
// only in its messages ("line 5: field x not found in type T"); the line
// leads to the node, and the node tree says the rest.
func lineOf(msg string) (int, string) {
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, msg[len(m[0]):]
	}
	return 0, msg
}

// locate turns the decoder's first complaint into an Error that says which
// key or value is at fault and what was expected there.
func locate(root *yaml.Node, t reflect.Type, err error) *Error {
	first := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		first = te.Errors[0]
	}
	line, msg := lineOf(first)
	if line > 0 {
		w := walker{line: line}
		if e := w.node(root, t, nil); e != nil {
			e.Msg, e.Err = msg, err
			return e
		}
	}
	return &Error{Problem: Invalid, Line: line, Msg: msg, Err: err}
}

// walker looks for the first key or value at a line that does not fit the
// Go type it decodes into, in document order, as the decoder met it.
type walker struct{ line int }

var unmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

func (w walker) node(n *yaml.Node, t reflect.Type, path Path) *Error {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Tag == "!!null" {
		return nil // null fits anything: the value stays unset
	}
	if reflect.PointerTo(t).Implements(unmarshaler) {
		if n.Line == w.line && n.Decode(reflect.New(t).Interface()) != nil {
			return w.wrong(n, t, path)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		if n.Kind != yaml.MappingNode {
			return w.wrong(n, t, path)
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, known := t, true
			if t.Kind() == reflect.Map {
				ft = t.Elem()
			} else {
				ft, known = field(t, k.Value)
			}
			if k.Line == w.line {
				switch {
				case seen[k.Value]:
					return &Error{Problem: DuplicateKey, Line: k.Line, Path: append(path[:len(path):len(path)], k.Value)}
				case !known:
					return &Error{Problem: UnknownField, Line: k.Line, Path: append(path[:len(path):len(path)], k.Value), Fields: Fields(t)}
				}
			}
			seen[k.Value] = true
			if known {
				if e := w.node(v, ft, append(path[:len(path):len(path)], k.Value)); e != nil {
					return e
				}
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return w.wrong(n, t, path)
		}
		for i, item := range n.Content {
			if e := w.node(item, t.Elem(), append(path[:len(path):len(path)], i)); e != nil {
				return e
			}
		}
	default:
		if n.Kind != yaml.ScalarNode || n.Decode(reflect.New(t).Interface()) != nil {
			return w.wrong(n, t, path)
		}
	}
	return nil
}

func (w walker) wrong(n *yaml.Node, t reflect.Type, path Path) *Error {
	if n.Line != w.line {
		return nil
	}
	return &Error{Problem: WrongType, Line: n.Line, Path: path, Want: t, Found: Describe(n)}
}

// Describe says what a node is, for messages: "a list", "a mapping", or the
// scalar quoted.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// key is the YAML key of a struct field as yaml.v3 reads it: the tag's name,
// or the field's name in lower case; "" for a field it skips.
func key(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return name
}

// field returns the type of the field of struct t that key k sets.
func field(t reflect.Type, k string) (reflect.Type, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); key(f) == k {
			return f.Type, true
		}
	}
	return nil, false
}

// Fields returns the keys struct t takes, in the order of its fields.
func Fields(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		if k := key(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}
