package pin

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/deploy-action/deploy-action/pkg/render"
)

// FuzzPin: for any YAML and any mapping, Pin does not panic, leaves the objects
// it is given alone, writes YAML that parses, and changes nothing but the
// image values it reports, each to a reference pinned by the mapping's digest.
//
//	go test ./pkg/pin -run '^$' -fuzz FuzzPin -fuzztime 60s
func FuzzPin(f *testing.F) {
	seeds := []string{workloads}
	for _, dir := range []string{"../../e2e/testdata/shop/k8s", "../render/testdata/plain"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			seeds = append(seeds, string(data))
		}
	}
	for _, s := range seeds {
		f.Add([]byte(s), "docker.io/acme/shop", "")
		f.Add([]byte(s), "acme/web:1.0", "ghcr.io/acme/web")
		f.Add([]byte(s), "busybox", "busybox:1.36")
	}
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [&c {name: a, image: x}, *c]}\n"), "x", "")
	f.Fuzz(func(t *testing.T, data []byte, source, target string) {
		var m Mapping
		var err error
		if target == "" {
			m, err = Pushed(source + "@" + digest)
		} else {
			m, err = ParseMapping(source + "=" + target + "@" + digest)
		}
		if err != nil {
			return
		}
		objects, err := render.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		before, err := render.Encode(objects)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = Pin(objects, []Mapping{m}) // the default policy must not panic either
		res, err := Pin(objects, []Mapping{m}, WithUnmatched(Warn))
		if err != nil {
			return // a shared anchor: refused, with nothing written
		}
		after, err := render.Encode(objects)
		if err != nil || string(after) != string(before) {
			t.Fatalf("Pin changed its input:\n%s\n----\n%s", before, after)
		}
		out, err := render.Encode(res.Objects)
		if err != nil {
			t.Fatalf("encoding the pinned objects: %v", err)
		}
		oldTree, newTree := reparse(t, before), reparse(t, out)
		if len(oldTree) != len(newTree) {
			t.Fatalf("%d documents became %d:\n%s", len(oldTree), len(newTree), out)
		}
		var diffs []string
		for i := range oldTree {
			if err := compare(oldTree[i], newTree[i], "", &diffs); err != nil {
				t.Fatalf("document %d: %v\nbefore:\n%s\nafter:\n%s", i, err, before, out)
			}
		}
		var changes []string
		for _, c := range res.Changes {
			changes = append(changes, c.Image+" -> "+c.New)
			d, err := name.NewDigest(c.New)
			if err != nil || d.DigestStr() != digest {
				t.Fatalf("%q is not pinned to %s (%v)", c.New, digest, err)
			}
		}
		sort.Strings(diffs)
		sort.Strings(changes)
		if fmt.Sprint(diffs) != fmt.Sprint(changes) {
			t.Fatalf("the tree changed at %v, Pin reported %v", diffs, changes)
		}
	})
}

func reparse(t *testing.T, data []byte) []*yaml.Node {
	t.Helper()
	objs, err := render.Parse("out.yaml", data)
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, data)
	}
	var nodes []*yaml.Node
	for _, o := range objs {
		nodes = append(nodes, o.Node.YNode())
	}
	return nodes
}

// compare walks two trees in step; they must be the same but for scalar
// values under an "image" key, which are collected as "old -> new".
func compare(a, b *yaml.Node, key string, diffs *[]string) error {
	if a.Kind != b.Kind || len(a.Content) != len(b.Content) {
		return fmt.Errorf("under %q the shape changed", key)
	}
	if a.HeadComment != b.HeadComment || a.LineComment != b.LineComment || a.FootComment != b.FootComment || a.Anchor != b.Anchor {
		return fmt.Errorf("under %q a comment or an anchor changed", key)
	}
	if a.Value != b.Value {
		if a.Kind != yaml.ScalarNode || key != "image" {
			return fmt.Errorf("%q changed from %q to %q", key, a.Value, b.Value)
		}
		*diffs = append(*diffs, a.Value+" -> "+b.Value)
		return nil
	}
	if a.Tag != b.Tag || a.Style != b.Style {
		return fmt.Errorf("under %q the tag or style of %q changed", key, a.Value)
	}
	for i := range a.Content {
		k := key
		if a.Kind == yaml.MappingNode && i%2 == 1 {
			k = a.Content[i-1].Value
		}
		if err := compare(a.Content[i], b.Content[i], k, diffs); err != nil {
			return err
		}
	}
	return nil
}
