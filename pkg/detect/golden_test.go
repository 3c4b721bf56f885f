package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixtures are the repositories the generator is tested on, by name.
var fixtures = map[string]string{
	"flask-src":       "../../e2e/testdata/repos/flask-src",
	"fastapi-asyncpg": "../../e2e/testdata/repos/fastapi-asyncpg",
	"django":          "../../e2e/testdata/repos/django",
	"go-service":      "../../e2e/testdata/repos/go-service",
	"node-service":    "../../e2e/testdata/repos/node-service",
	"java-maven":      "../../e2e/testdata/repos/java-maven",
	"helm-chart":      "../../e2e/testdata/repos/helm-chart",
	"three-services":  "../../e2e/testdata/repos/three-services",
	"shop":            "../../e2e/testdata/shop",
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, got, 0o644))
		return
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test ./pkg/detect -run %s -update to write it", t.Name())
	assert.Equal(t, string(want), string(got), "%s differs from what detection finds; review, then -update", p)
}

// TestGolden detects each fixture repository and compares the result, and
// its explanation, with the reviewed golden files.
func TestGolden(t *testing.T) {
	for name, dir := range fixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			repo, err := Detect(context.Background(), dir)
			require.NoError(t, err)
			repo.Root = name // the path differs from checkout to checkout
			js, err := json.MarshalIndent(repo, "", "  ")
			require.NoError(t, err)
			golden(t, name+".json", append(js, '\n'))
			var explain bytes.Buffer
			require.NoError(t, repo.Explain(&explain))
			golden(t, name+".explain.txt", explain.Bytes())
		})
	}
}

// TestDeterministic detects the same repository twice: same bytes.
func TestDeterministic(t *testing.T) {
	for _, name := range []string{"shop", "three-services"} {
		a, err := Detect(context.Background(), fixtures[name])
		require.NoError(t, err)
		b, err := Detect(context.Background(), fixtures[name])
		require.NoError(t, err)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		assert.Equal(t, string(ja), string(jb))
	}
}

// BenchmarkDetect detects every fixture repository, one per iteration.
func BenchmarkDetect(b *testing.B) {
	for name, dir := range fixtures {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Detect(context.Background(), dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
