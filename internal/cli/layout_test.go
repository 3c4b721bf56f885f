package cli

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLayout keeps the imports running one way, down: cmd -> the application
// layer (internal/...) -> pkg/... -> pkg/internal/.... Go's internal rule
// already keeps pkg/internal for pkg/; this keeps pkg/ off the layer above it
// and off test code, and internal/ to the application layer.
func TestLayout(t *testing.T) {
	const module = "github.com/deploy-action/deploy-action"
	// The application layer and the test helpers: nothing under pkg/ may
	// depend on them, however indirectly.
	above := []string{"internal/cli", "internal/demo", "internal/report", "internal/summary", "internal/testenv", "internal/testimage", "e2e"}

	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./pkg/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderrOf(err))
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Greater(t, len(lines), 10, "go list found the pkg/ packages")
	var bad []string
	for _, line := range lines {
		fields := strings.Fields(line)
		for _, dep := range fields[1:] {
			rel, ok := strings.CutPrefix(dep, module+"/")
			if !ok {
				continue
			}
			for _, a := range above {
				if rel == a || strings.HasPrefix(rel, a+"/") {
					bad = append(bad, strings.TrimPrefix(fields[0], module+"/")+" depends on "+rel)
				}
			}
		}
	}
	assert.Empty(t, bad, "a pkg/ package depends on the application layer or on test code; move what it needs down, to pkg/ or pkg/internal/")

	// internal/ holds the application layer and the test helpers only; a
	// helper the stages share belongs in pkg/internal/.
	entries, err := os.ReadDir("..")
	require.NoError(t, err)
	allowed := map[string]bool{"cli": true, "demo": true, "report": true, "summary": true, "testenv": true, "testimage": true}
	for _, e := range entries {
		if e.IsDir() && !allowed[e.Name()] {
			t.Errorf("%s is in internal/, which holds the application layer (cli, demo, report, summary) and the test helpers; a helper that stage packages share goes in pkg/internal/", path.Join("internal", e.Name()))
		}
	}
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// TestStagesNameNoInputs keeps the input names in this package: a stage
// under pkg/ reports the field at fault (*field.Error) or refers to a
// setting through field.Names, and never writes an action input's name.
func TestStagesNameNoInputs(t *testing.T) {
	t.Parallel()
	inputName := regexp.MustCompile(`\binputs? (\\?"|%q|` + "`" + `)`)
	var bad []string
	fset := token.NewFileSet()
	err := filepath.WalkDir("../../pkg", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind == token.STRING && inputName.MatchString(n.Value) {
					bad = append(bad, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), n.Value))
				}
			case *ast.ValueSpec:
				for _, id := range n.Names {
					if id.IsExported() && strings.HasPrefix(id.Name, "Input") {
						bad = append(bad, fmt.Sprintf("%s: constant %s", fset.Position(id.Pos()), id.Name))
					}
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	assert.Empty(t, bad, "a stage package names an input: return a *field.Error of the field, or write names.Of(Field...) (pkg/field), and map the field to its input in fields.go")
}
