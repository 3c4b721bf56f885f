package scaffold_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// generated returns every fixture's files, keyed by fixture, and its notes.
func generated(t testing.TB, opts scaffold.Options) map[string]scaffold.Result {
	t.Helper()
	out := map[string]scaffold.Result{}
	for _, f := range fixtures(t) {
		var all scaffold.Result
		for _, svc := range f.repo.Services {
			r, err := scaffold.Generate(f.repo, svc, opts)
			require.NoError(t, err, "%s/%s", f.name, svc.Name)
			all.Files = append(all.Files, r.Files...)
			all.Notes = append(all.Notes, r.Notes...)
		}
		out[f.name] = all
	}
	return out
}

// The shop is generated with every part forced: its own files stay, the
// generated ones sit beside them, and the tests check all of them.
func forced() scaffold.Options {
	return scaffold.Options{Parts: map[scaffold.Part]scaffold.Mode{
		scaffold.Kubernetes: scaffold.Force, scaffold.Migrations: scaffold.Force, scaffold.Database: scaffold.Force,
	}}
}

func TestGolden(t *testing.T) {
	for name, r := range generated(t, scaffold.Options{}) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "golden", name)
			var notes strings.Builder
			for _, n := range r.Notes {
				notes.WriteString("[" + string(n.Part) + "] " + n.Text + "\n")
			}
			want := map[string][]byte{"NOTES.txt": []byte(notes.String())}
			for _, f := range r.Files {
				want[f.Path] = f.Content
			}
			if *update {
				require.NoError(t, os.RemoveAll(dir))
				for p, b := range want {
					full := filepath.Join(dir, filepath.FromSlash(p))
					require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
					require.NoError(t, os.WriteFile(full, b, 0o644))
				}
			}
			got := map[string][]byte{}
			require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				got[filepath.ToSlash(rel)] = b
				return err
			}))
			require.Equal(t, keys(want), keys(got), "files; run go test ./pkg/scaffold -run TestGolden -update")
			for p := range want {
				assert.Equal(t, string(got[p]), string(want[p]), "%s; run go test ./pkg/scaffold -run TestGolden -update", p)
			}
		})
	}
}

func keys[V any](m map[string]V) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sortStrings(k)
	return k
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
