package render

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParse: no input makes Parse panic, and whatever it accepts, Encode writes
// as YAML that parses back to the same objects and encodes to the same bytes.
//
//	go test ./pkg/render -run '^$' -fuzz FuzzParse -fuzztime 60s
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/plain", "testdata/plain/sub", "../../e2e/testdata/shop/k8s"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			require.NoError(f, err)
			f.Add(data)
		}
	}
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- &a {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n- *a\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: &m {name: x}\ndata: {<<: *m}\n"))
	f.Add([]byte("--- |\n  text\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objects, err := Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		out, err := Encode(objects)
		if err != nil {
			t.Fatalf("Encode of parsed objects: %v", err)
		}
		back, err := Parse("encoded.yaml", out)
		if err != nil {
			t.Fatalf("what Encode wrote does not parse: %v\n%s", err, out)
		}
		if len(back) != len(objects) {
			t.Fatalf("%d objects became %d:\n%s", len(objects), len(back), out)
		}
		for i := range objects {
			if objects[i].ID() != back[i].ID() {
				t.Fatalf("object %d: %s became %s", i, objects[i].ID(), back[i].ID())
			}
		}
		again, err := Encode(back)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(out) {
			t.Fatalf("encoding is not stable:\n%s\n----\n%s", out, again)
		}
	})
}
