// Command schemagen writes strict, standalone JSON schemas for kubeconform from the
// OpenAPI definitions compiled into the pinned k8s.io/kubernetes module, one file
// per kind for every API version the pinned kube-apiserver serves by default.
//
// The files follow the layout and conventions of kubeconform's own schema sets
// (yannh/kubernetes-json-schema, "-standalone-strict"): every $ref is inlined,
// objects reject unknown fields, optional fields accept null, int-or-string and
// quantities accept both forms. Use them with
//
//	kubeconform -strict -schema-location 'DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json'
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/controlplane"
	"k8s.io/kubernetes/pkg/generated/openapi"
)

const refPrefix = "#/definitions/"

// Entry describes one written schema; index.json lists them all.
type Entry struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	File       string `json:"file"`
}

func main() {
	out := flag.String("out", "", "directory to write the schemas to (created if missing)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "schemagen: -out is required")
		os.Exit(2)
	}
	entries, err := generate(*out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "schemagen: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "schemagen: wrote %d schemas to %s\n", len(entries), *out)
}

func generate(out string) ([]Entry, error) {
	defs, err := definitions()
	if err != nil {
		return nil, err
	}
	kinds, err := servedKinds()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	var entries []Entry
	seen := map[string]schema.GroupVersionKind{}
	for _, k := range kinds {
		if _, ok := defs[k.model]; !ok {
			return nil, fmt.Errorf("%s: no OpenAPI definition %q", k.gvk, k.model)
		}
		s := (&inliner{defs: defs}).inline(map[string]any{"$ref": refPrefix + k.model}, nil)
		strict(s)
		s["x-kubernetes-group-version-kind"] = []any{map[string]any{
			"group": k.gvk.Group, "version": k.gvk.Version, "kind": k.gvk.Kind,
		}}
		apiVersion := k.gvk.GroupVersion().String()
		file := fileName(k.gvk.Kind, apiVersion)
		if prev, dup := seen[file]; dup {
			return nil, fmt.Errorf("%s and %s both map to %s", prev, k.gvk, file)
		}
		seen[file] = k.gvk
		data, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.gvk, err)
		}
		if err := os.WriteFile(filepath.Join(out, file), append(data, '\n'), 0o644); err != nil {
			return nil, err
		}
		entries = append(entries, Entry{APIVersion: apiVersion, Kind: k.gvk.Kind, File: file})
	}
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, err
	}
	return entries, os.WriteFile(filepath.Join(out, "index.json"), append(data, '\n'), 0o644)
}

// fileName follows kubeconform's {{ .ResourceKind }}{{ .KindSuffix }}.json: the
// lower-case kind, then the first label of the group (none for the core group),
// then the version.
func fileName(kind, apiVersion string) string {
	name := strings.ToLower(kind)
	group, version, found := strings.Cut(apiVersion, "/")
	if !found {
		return name + "-" + strings.ToLower(group) + ".json"
	}
	first, _, _ := strings.Cut(group, ".")
	return name + "-" + strings.ToLower(first) + "-" + strings.ToLower(version) + ".json"
}

// definitions returns every OpenAPI definition of the pinned release as plain JSON
// values, keyed by model name.
func definitions() (map[string]map[string]any, error) {
	ref := func(name string) spec.Ref { return spec.MustCreateRef(refPrefix + name) }
	out := map[string]map[string]any{}
	for name, def := range openapi.GetOpenAPIDefinitions(ref) {
		data, err := json.Marshal(def.Schema)
		if err != nil {
			return nil, fmt.Errorf("definition %s: %w", name, err)
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("definition %s: %w", name, err)
		}
		out[name] = m
	}
	return out, nil
}

type servedKind struct {
	gvk   schema.GroupVersionKind
	model string
}

// servedKinds lists the kinds that kube-apiserver serves with its default
// configuration: persisted resources (those with a list kind) in every group
// version DefaultAPIResourceConfigSource enables, with their lists, plus the two
// groups served by the embedded extension and aggregation servers.
func servedKinds() ([]servedKind, error) {
	config := controlplane.DefaultAPIResourceConfigSource()
	enabled := func(gvk schema.GroupVersionKind) bool {
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		return config.ResourceEnabled(plural)
	}

	extensions := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(extensions); err != nil {
		return nil, err
	}
	if err := apiregistrationv1.AddToScheme(extensions); err != nil {
		return nil, err
	}
	always := func(schema.GroupVersionKind) bool { return true }

	var kinds []servedKind
	for _, src := range []struct {
		scheme  *runtime.Scheme
		enabled func(schema.GroupVersionKind) bool
	}{{legacyscheme.Scheme, enabled}, {extensions, always}} {
		types := src.scheme.AllKnownTypes()
		for gvk, typ := range types {
			if gvk.Version == runtime.APIVersionInternal || strings.HasSuffix(gvk.Kind, "List") {
				continue
			}
			// Status, APIGroup and the like: the API's own vocabulary, no resources.
			if obj, ok := reflect.New(typ).Interface().(runtime.Object); ok {
				if unversioned, _ := src.scheme.IsUnversioned(obj); unversioned {
					continue
				}
			}
			listGVK := gvk.GroupVersion().WithKind(gvk.Kind + "List")
			listType, hasList := types[listGVK]
			if !hasList || !src.enabled(gvk) {
				continue
			}
			for _, k := range []struct {
				gvk schema.GroupVersionKind
				typ reflect.Type
			}{{gvk, typ}, {listGVK, listType}} {
				model, ok := modelName(k.typ)
				if !ok {
					return nil, fmt.Errorf("%s: %s has no OpenAPI model name", k.gvk, k.typ)
				}
				kinds = append(kinds, servedKind{gvk: k.gvk, model: model})
			}
		}
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].gvk.String() < kinds[j].gvk.String() })
	return kinds, nil
}

func modelName(t reflect.Type) (string, bool) {
	namer, ok := reflect.New(t).Interface().(interface{ OpenAPIModelName() string })
	if !ok {
		return "", false
	}
	return namer.OpenAPIModelName(), true
}

// oneOf lists the types that a YAML value of these string-typed models may take:
// replicas: 1 and replicas: "50%" are both valid, and so are cpu: 1 and cpu: 500m.
var oneOf = map[string][]string{
	intstr.IntOrString{}.OpenAPIModelName(): intstr.IntOrString{}.OpenAPIV3OneOfTypes(),
	resource.Quantity{}.OpenAPIModelName():  resource.Quantity{}.OpenAPIV3OneOfTypes(),
}

type inliner struct {
	defs map[string]map[string]any
}

// inline returns a copy of s with every $ref replaced by the definition it names.
// A definition that refers to itself (apiextensions' JSONSchemaProps) becomes an
// open schema at the second level, as in kubeconform's schema sets.
func (in *inliner) inline(s map[string]any, stack []string) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, refPrefix)
		if types, ok := oneOf[name]; ok {
			alts := make([]any, 0, len(types))
			for _, t := range types {
				alts = append(alts, map[string]any{"type": t})
			}
			return withDescription(map[string]any{"oneOf": alts}, s)
		}
		for _, n := range stack {
			if n == name {
				return withDescription(map[string]any{"x-kubernetes-preserve-unknown-fields": true}, s)
			}
		}
		def, ok := in.defs[name]
		if !ok {
			panic(fmt.Sprintf("no OpenAPI definition %q", name))
		}
		return withDescription(in.inline(def, append(stack, name)), s)
	}
	out := make(map[string]any, len(s))
	for k, v := range s {
		out[k] = in.value(v, stack)
	}
	if out["format"] == "int-or-string" {
		return withDescription(map[string]any{"oneOf": []any{
			map[string]any{"type": "string"}, map[string]any{"type": "integer"},
		}}, out)
	}
	return out
}

func (in *inliner) value(v any, stack []string) any {
	switch v := v.(type) {
	case map[string]any:
		return in.inline(v, stack)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = in.value(x, stack)
		}
		return out
	default:
		return v
	}
}

// withDescription keeps the description written at the point of use, which is more
// specific than the referenced type's.
func withDescription(s, from map[string]any) map[string]any {
	if d, ok := from["description"]; ok {
		s["description"] = d
	}
	return s
}

// strict rejects unknown fields in every object that lists its properties, unless
// the API marks it as keeping unknown fields, and lets optional fields be null, as
// the API server does (creationTimestamp: null is in every `kubectl create -o yaml`).
func strict(s map[string]any) {
	if props, ok := s["properties"].(map[string]any); ok {
		if _, set := s["additionalProperties"]; !set && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
		required := map[string]bool{}
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if name, ok := r.(string); ok {
					required[name] = true
				}
			}
		}
		for name, p := range props {
			if pm, ok := p.(map[string]any); ok && !required[name] {
				nullable(pm)
			}
		}
	}
	for _, v := range s {
		walk(v)
	}
}

func walk(v any) {
	switch v := v.(type) {
	case map[string]any:
		strict(v)
	case []any:
		for _, x := range v {
			walk(x)
		}
	}
}

func nullable(s map[string]any) {
	switch t := s["type"].(type) {
	case string:
		s["type"] = []any{t, "null"}
		return
	case []any:
		for _, x := range t {
			if x == "null" {
				return
			}
		}
		s["type"] = append(t, "null")
		return
	}
	if alts, ok := s["oneOf"].([]any); ok {
		s["oneOf"] = append(alts, map[string]any{"type": "null"})
	}
}
