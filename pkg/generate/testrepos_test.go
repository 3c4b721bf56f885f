package generate

import (
	"github.com/deploy-action/deploy-action/pkg/detect"
)

// testPin is deploy-action's pin in the tests: a fixed commit of this
// repository, as a release would carry it.
var testPin = Pin{Repo: DefaultActionRepo, Version: "v1.0.0", SHA: "f6d333e4b5ac2e7d0f1a9b0c3d4e5f60718293a4"}

// shopRepo is the shop as detection reports it (e2e/testdata/shop).
func shopRepo(root string) detect.Repository {
	return detect.Repository{Root: root, Services: []detect.Service{{
		Name: "shop", Dir: ".", Code: "shop", Language: detect.Python, Framework: detect.Flask, Server: detect.Gunicorn,
		Entry: "shop.wsgi:app", Port: 8000, HealthPath: "/healthz",
		TestCommand: []string{"python", "-m", "pytest", "-q"},
		Dependencies: []detect.Dependency{{Kind: detect.PostgreSQL, Env: []string{"DATABASE_URL"},
			Because: detect.Evidence{What: "psycopg", File: "requirements.txt", Line: 3}}},
		Existing: detect.Existing{Dockerfile: "Dockerfile", Manifests: []string{"k8s"}, Kustomization: "kustomize", Chart: "chart"},
		Evidence: []detect.Evidence{{What: "language python", File: "shop/app.py"}, {What: "framework flask", File: "requirements.txt", Line: 1}},
	}}}
}

// threeRepo is a repository with three services under src/.
func threeRepo(root string) detect.Repository {
	svc := func(name string, lang detect.Language, test []string, deps ...detect.Dependency) detect.Service {
		return detect.Service{Name: name, Dir: "src/" + name, Code: "src/" + name, Language: lang, TestCommand: test, Port: 8080, HealthPath: "/healthz",
			Dependencies: deps, Existing: detect.Existing{Dockerfile: "src/" + name + "/Dockerfile", Manifests: []string{"src/" + name + "/k8s"}}}
	}
	return detect.Repository{Root: root, Services: []detect.Service{
		svc("api", detect.Go, []string{"go", "test", "./..."}, detect.Dependency{Kind: detect.PostgreSQL, Env: []string{"DB_HOST", "DB_NAME", "DB_PASSWORD", "DB_USER"}}),
		svc("web", detect.Node, []string{"npm", "test"}),
		svc("worker", detect.Python, []string{"pytest"}, detect.Dependency{Kind: detect.Redis, Env: []string{"REDIS_URL"}}),
	}}
}
