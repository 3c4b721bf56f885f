package strictyaml_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/internal/strictyaml"
)

type item struct {
	Name  string   `yaml:"name"`
	Count int      `yaml:"count"`
	Tags  []string `yaml:"tags"`
	Skip  string   `yaml:"-"`
}

type doc struct {
	Version string          `yaml:"version"`
	Items   []item          `yaml:"items"`
	Labels  map[string]item `yaml:"labels"`
	Owner   *item
}

func TestDecode(t *testing.T) {
	t.Parallel()
	var d doc
	root, err := strictyaml.Decode([]byte("version: '1'\nitems:\n  - {name: a, count: 2, tags: [x]}\nowner: {name: me}\n"), &d)
	require.NoError(t, err)
	require.NotNil(t, root)
	assert.Equal(t, doc{Version: "1", Items: []item{{Name: "a", Count: 2, Tags: []string{"x"}}}, Owner: &item{Name: "me"}}, d)

	root, err = strictyaml.Decode([]byte("# nothing but a comment\n"), &d)
	require.NoError(t, err)
	assert.Nil(t, root, "an empty document has no root")
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		problem    strictyaml.Problem
		line       int
		path       string
		check      func(t *testing.T, e *strictyaml.Error)
	}{
		{name: "syntax", yaml: "version: 1\nitems: [\n", problem: strictyaml.Syntax, line: 2},
		{name: "unknown top field", yaml: "version: 1\nitem: []\n", problem: strictyaml.UnknownField, line: 2, path: "item",
			check: func(t *testing.T, e *strictyaml.Error) {
				assert.Equal(t, []string{"version", "items", "labels", "owner"}, e.Fields)
			}},
		{name: "unknown nested field", yaml: "items:\n  - name: a\n  - name: b\n    skip: x\n", problem: strictyaml.UnknownField, line: 4, path: "items[1].skip",
			check: func(t *testing.T, e *strictyaml.Error) {
				assert.Equal(t, []string{"name", "count", "tags"}, e.Fields, "a field yaml skips is not offered")
			}},
		{name: "unknown field in a flow mapping", yaml: "items: [{name: a, cout: 2}]\n", problem: strictyaml.UnknownField, line: 1, path: "items[0].cout"},
		{name: "duplicate key", yaml: "version: 1\nversion: 2\n", problem: strictyaml.DuplicateKey, line: 2, path: "version"},
		{name: "duplicate map key", yaml: "labels:\n  a: {name: x}\n  a: {name: y}\n", problem: strictyaml.DuplicateKey, line: 3, path: "labels.a"},
		{name: "wrong scalar", yaml: "items:\n  - name: a\n    count: many\n", problem: strictyaml.WrongType, line: 3, path: "items[0].count",
			check: func(t *testing.T, e *strictyaml.Error) {
				assert.Equal(t, reflect.TypeFor[int](), e.Want)
				assert.Equal(t, `"many"`, e.Found)
			}},
		{name: "mapping for a list", yaml: "items:\n  name: a\n", problem: strictyaml.WrongType, line: 2, path: "items",
			check: func(t *testing.T, e *strictyaml.Error) { assert.Equal(t, "a mapping", e.Found) }},
		{name: "list for a mapping", yaml: "owner: [a]\n", problem: strictyaml.WrongType, line: 1, path: "owner",
			check: func(t *testing.T, e *strictyaml.Error) { assert.Equal(t, reflect.TypeFor[item](), e.Want) }},
		{name: "root of the wrong kind", yaml: "- a\n", problem: strictyaml.WrongType, line: 1, path: ""},
		{name: "through an alias", yaml: "owner: &o {name: a, count: x}\n", problem: strictyaml.WrongType, line: 1, path: "owner.count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var d doc
			_, err := strictyaml.Decode([]byte(tc.yaml), &d)
			var e *strictyaml.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, tc.problem, e.Problem, err.Error())
			assert.Equal(t, tc.line, e.Line, err.Error())
			assert.Equal(t, tc.path, e.Path.String(), err.Error())
			assert.NotEmpty(t, e.Msg, "the decoder's own words are kept")
			if tc.check != nil {
				tc.check(t, e)
			}
		})
	}
}

func TestPathString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "commandTests[1].setup[0][2]", strictyaml.Path{"commandTests", 1, "setup", 0, 2}.String())
	assert.Empty(t, strictyaml.Path(nil).String())
}

func FuzzDecode(f *testing.F) {
	f.Add("version: 1\nitems: [{name: a, count: 2}]\n")
	f.Add("labels: {a: {name: b}}\nowner: &o {name: c}\n")
	f.Add("items:\n  - name: a\n    count: x\n")
	f.Fuzz(func(t *testing.T, text string) {
		var d doc
		if _, err := strictyaml.Decode([]byte(text), &d); err != nil {
			var e *strictyaml.Error
			assert.True(t, errors.As(err, &e), "every error is an *Error: %v", err)
		}
	})
}
