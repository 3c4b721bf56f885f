package scaffold_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/detect"
)

// fixture is a repository of e2e/testdata as detection reads it.
type fixture struct {
	name string
	repo detect.Repository
}

// fixtureDirs are the repositories the generator is tested on: the
// workflow generator's fixtures and the shop.
var fixtureDirs = map[string]string{
	"shop":            "shop",
	"flask-src":       "repos/flask-src",
	"fastapi-asyncpg": "repos/fastapi-asyncpg",
	"django":          "repos/django",
	"go-service":      "repos/go-service",
	"node-service":    "repos/node-service",
	"java-maven":      "repos/java-maven",
	"helm-chart":      "repos/helm-chart",
	"three-services":  "repos/three-services",
}

func fixtures(t testing.TB) []fixture {
	t.Helper()
	root := filepath.Join(testenv.RepoRoot(t), "e2e", "testdata")
	var out []fixture
	for _, name := range keys(fixtureDirs) {
		repo, err := detect.Detect(context.Background(), filepath.Join(root, fixtureDirs[name]))
		require.NoError(t, err, name)
		out = append(out, fixture{name, repo})
	}
	return out
}

// fixtureNamed returns one fixture.
func fixtureNamed(t testing.TB, name string) fixture {
	t.Helper()
	for _, f := range fixtures(t) {
		if f.name == name {
			return f
		}
	}
	t.Fatalf("no fixture %s", name)
	return fixture{}
}
