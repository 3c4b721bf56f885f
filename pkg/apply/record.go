package apply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// PreviousConfig returns the configuration fieldManager had applied to the
// object before this apply: the fields its server-side apply entry in
// managedFields owned then, with their values then. Applied again by the same
// manager, it restores those values and removes what this apply added, and
// leaves the fields of other managers alone, as a server-side apply does.
//
// ok is false when there is no such configuration: the apply created the
// object, or fieldManager had never applied it (another tool made it, or
// kubectl apply without --server-side).
func (a Applied) PreviousConfig(fieldManager string) (cfg *unstructured.Unstructured, ok bool, err error) {
	if a.Before == nil {
		return nil, false, nil
	}
	var entry *metav1.ManagedFieldsEntry
	for _, e := range a.Before.GetManagedFields() {
		if e.Manager == fieldManager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
			entry = &e
			break
		}
	}
	if entry == nil || entry.FieldsV1 == nil {
		return nil, false, nil
	}
	var set map[string]any
	if err := json.Unmarshal(entry.FieldsV1.GetRawBytes(), &set); err != nil {
		return nil, false, fmt.Errorf("reading the fields %q owned in %s: %w", fieldManager, a, err)
	}
	before := a.Before.DeepCopy().Object
	out, err := extract(before, set)
	if err != nil {
		return nil, false, fmt.Errorf("reading the fields %q owned in %s: %w", fieldManager, a, err)
	}
	m, _ := out.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	u := &unstructured.Unstructured{Object: m}
	// What identifies the object is part of every applied configuration.
	u.SetAPIVersion(a.Before.GetAPIVersion())
	u.SetKind(a.Before.GetKind())
	u.SetName(a.Before.GetName())
	if ns := a.Before.GetNamespace(); ns != "" {
		u.SetNamespace(ns)
	}
	return u, true, nil
}

// extract returns the parts of v that set names, in the format of
// managedFields (FieldsV1): "f:<field>" for a field of a map, "k:<json>" for
// the element of a list with those key fields, "v:<json>" for the element of a
// set with that value, "i:<index>" for a list's element by position, "." for
// the map or list itself. An empty set owns the whole value (a scalar, or an
// atomic map or list). structured-merge-diff can do this only with the
// schema of the kind; this walks the object itself, so it works for any kind,
// custom resources included, with what the server already returned.
func extract(v any, set map[string]any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, sub := range set {
			name, ok := strings.CutPrefix(k, "f:")
			if !ok {
				continue // "." and anything a list would hold
			}
			child, present := x[name]
			if !present {
				continue
			}
			c, err := extractChild(child, sub)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = c
		}
		return out, nil
	case []any:
		var out []any
		for i, el := range x {
			for k, sub := range set {
				match, err := matches(k, i, el)
				if err != nil {
					return nil, err
				}
				if !match {
					continue
				}
				c, err := extractChild(el, sub)
				if err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
				// The key fields name the element: an applied configuration
				// always carries them.
				if key, isKey := strings.CutPrefix(k, "k:"); isKey {
					em, _ := el.(map[string]any)
					cm, _ := c.(map[string]any)
					var fields map[string]any
					if err := json.Unmarshal([]byte(key), &fields); err == nil && em != nil && cm != nil {
						for f := range fields {
							cm[f] = em[f]
						}
					}
				}
				out = append(out, c)
				break
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, nil
	default:
		return runtime.DeepCopyJSONValue(v), nil
	}
}

func extractChild(v, sub any) (any, error) {
	s, _ := sub.(map[string]any)
	if len(s) == 0 {
		return runtime.DeepCopyJSONValue(v), nil
	}
	return extract(v, s)
}

// matches tells whether the list element el, at index i, is the one the
// FieldsV1 path element k names.
func matches(k string, i int, el any) (bool, error) {
	switch {
	case strings.HasPrefix(k, "k:"):
		var key map[string]any
		if err := json.Unmarshal([]byte(k[2:]), &key); err != nil {
			return false, fmt.Errorf("list key %s: %w", k, err)
		}
		m, ok := el.(map[string]any)
		if !ok {
			return false, nil
		}
		for f, want := range key {
			if !sameJSON(m[f], want) {
				return false, nil
			}
		}
		return true, nil
	case strings.HasPrefix(k, "v:"):
		var want any
		if err := json.Unmarshal([]byte(k[2:]), &want); err != nil {
			return false, fmt.Errorf("set value %s: %w", k, err)
		}
		return sameJSON(el, want), nil
	case strings.HasPrefix(k, "i:"):
		n, err := strconv.Atoi(k[2:])
		return err == nil && n == i, nil
	}
	return false, nil
}

// sameJSON compares two values as JSON: the object holds int64 where a
// decoded key holds float64.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
