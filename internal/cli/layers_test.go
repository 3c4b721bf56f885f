package cli

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLayers holds the import direction: cmd -> the application layer
// (internal/cli, internal/demo, internal/report, internal/summary) -> pkg/. A
// pkg/ package that imported the application layer or the end-to-end tests
// would make the stages depend on how they are wired and reported.
func TestLayers(t *testing.T) {
	t.Parallel()
	const mod = "github.com/deploy-action/deploy-action/"
	out, err := exec.Command("go", "list", "-deps", mod+"pkg/...").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var up []string
	for _, p := range strings.Fields(string(out)) {
		for _, app := range []string{"internal/cli", "internal/demo", "internal/report", "internal/summary", "e2e"} {
			if p == mod+app || strings.HasPrefix(p, mod+app+"/") {
				up = append(up, p)
			}
		}
	}
	require.Empty(t, up, "pkg/ imports the application layer or the end-to-end tests")
}
