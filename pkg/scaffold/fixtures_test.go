package scaffold_test

import (
	"path/filepath"
	"testing"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/detect"
)

// fixture is a repository of e2e/testdata with what detection finds in it.
type fixture struct {
	name string
	repo detect.Repository
}

func ev(what, file string, line int) detect.Evidence {
	return detect.Evidence{What: what, File: file, Line: line}
}

// fixtures are the repositories the generator is tested on, each as
// detection describes it.
func fixtures(t testing.TB) []fixture {
	root := filepath.Join(testenv.RepoRoot(t), "e2e", "testdata")
	repo := func(dir string, svcs ...detect.Service) detect.Repository {
		return detect.Repository{Root: filepath.Join(root, dir), Services: svcs}
	}
	shop := detect.Service{
		Name: "shop", Dir: ".", Code: "shop", Language: detect.Python, Framework: detect.Flask, Server: detect.Gunicorn,
		Entry: "shop.wsgi:app", Port: 8000, HealthPath: "/healthz",
		TestCommand: []string{"python3", "-m", "pytest"},
		Dependencies: []detect.Dependency{{Kind: detect.PostgreSQL, Env: []string{"DATABASE_URL"}, Because: ev("psycopg2", "shop/postgres.py", 1)}},
		Env: []detect.EnvVar{
			{Name: "DATABASE_URL", Secret: true},
			{Name: "DB_CONNECT_TIMEOUT", Default: "3"},
			{Name: "LOG_LEVEL", Default: "INFO"},
			{Name: "PORT", Default: "8000"},
			{Name: "REQUEST_TIMEOUT", Default: "30"},
			{Name: "WEB_CONCURRENCY", Default: "2"},
		},
		Migrations: detect.Migrations{Tool: detect.Custom, Command: []string{"python3", "-m", "shop", "migrate"}},
		Metrics:    detect.Metrics{Preset: detect.PythonClient, Path: "/metrics", At: ev("prometheus_client", "shop/metrics.py", 10)},
		Existing: detect.Existing{Dockerfile: "Dockerfile", Dockerignore: ".dockerignore",
			Manifests: []string{"k8s"}, Kustomization: "kustomize", Chart: "chart"},
	}
	dbEnv := []string{"DB_HOST", "DB_NAME", "DB_PASSWORD", "DB_USER"}
	return []fixture{
		{"shop", repo("shop", shop)},
		{"flask-src", repo("repos/flask-src", detect.Service{
			Name: "flask-src", Dir: ".", Code: "src", Language: detect.Python, Framework: detect.Flask, Server: detect.Gunicorn,
			Entry: "app:app", Port: 8000, HealthPath: "/healthz",
			Dependencies: []detect.Dependency{{Kind: detect.PostgreSQL, Env: dbEnv}},
			Env: []detect.EnvVar{{Name: "DB_HOST"}, {Name: "DB_NAME"}, {Name: "DB_PASSWORD", Secret: true}, {Name: "DB_USER"}},
			Migrations: detect.Migrations{Tool: detect.FlaskMigrate, Command: []string{"flask", "--app", "app", "db", "upgrade"}},
			Metrics:    detect.Metrics{Preset: detect.FlaskExporter, Path: "/metrics", At: ev("prometheus-flask-exporter", "requirements.txt", 4)},
		})},
		{"fastapi-asyncpg", repo("repos/fastapi-asyncpg", detect.Service{
			Name: "fastapi-asyncpg", Dir: ".", Code: ".", Language: detect.Python, Framework: detect.FastAPI, Server: detect.Uvicorn,
			Entry: "app.main:app", Port: 8000, HealthPath: "/health",
			Dependencies: []detect.Dependency{{Kind: detect.PostgreSQL, Env: []string{"DATABASE_URL"}}},
			Env:          []detect.EnvVar{{Name: "DATABASE_URL", Secret: true}},
			Migrations:   detect.Migrations{Tool: detect.Alembic, Command: []string{"alembic", "upgrade", "head"}},
			Metrics:      detect.Metrics{Preset: detect.FastAPIExporter, Path: "/metrics", At: ev("prometheus-fastapi-instrumentator", "requirements.txt", 5)},
		})},
		{"django", repo("repos/django", detect.Service{
			Name: "django", Dir: ".", Code: ".", Language: detect.Python, Framework: detect.Django, Server: detect.Gunicorn,
			Entry: "mysite.wsgi:application", Port: 8000,
			Dependencies: []detect.Dependency{{Kind: detect.PostgreSQL, Env: []string{"DATABASE_URL"}}},
			Env:          []detect.EnvVar{{Name: "DATABASE_URL", Secret: true}, {Name: "DJANGO_SECRET_KEY", Secret: true}, {Name: "DJANGO_DEBUG", Default: "0"}},
			Migrations:   detect.Migrations{Tool: detect.DjangoMigrate, Command: []string{"python", "manage.py", "migrate", "--noinput"}},
		})},
		{"go-service", repo("repos/go-service", detect.Service{
			Name: "go-service", Dir: ".", Code: ".", Language: detect.Go, Framework: detect.NetHTTP, Entry: ".", Port: 8080, HealthPath: "/healthz",
			Env:     []detect.EnvVar{{Name: "PORT", Default: "8080"}},
			Metrics: detect.Metrics{Preset: detect.PromHTTP, Path: "/metrics", At: ev("github.com/prometheus/client_golang", "go.mod", 5)},
		})},
		{"node-service", repo("repos/node-service", detect.Service{
			Name: "node-service", Dir: ".", Code: ".", Language: detect.Node, Framework: detect.Express, Entry: "server.js", Port: 3000, HealthPath: "/healthz",
			Env:     []detect.EnvVar{{Name: "PORT", Default: "3000"}},
			Metrics: detect.Metrics{Preset: detect.PromClient, Path: "/metrics", At: ev("prom-client", "package.json", 12)},
		})},
		{"java-maven", repo("repos/java-maven", detect.Service{
			Name: "java-maven", Dir: ".", Code: "src", Language: detect.Java, Framework: detect.SpringBoot, Port: 8080, HealthPath: "/actuator/health",
			Dependencies: []detect.Dependency{{Kind: detect.PostgreSQL, Env: []string{"SPRING_DATASOURCE_PASSWORD", "SPRING_DATASOURCE_URL", "SPRING_DATASOURCE_USERNAME"}}},
			Metrics:      detect.Metrics{Preset: detect.Micrometer, Path: "/actuator/prometheus", At: ev("micrometer-registry-prometheus", "pom.xml", 40)},
		})},
		{"helm-chart", repo("repos/helm-chart", detect.Service{
			Name: "helm-chart", Dir: ".", Code: ".", Language: detect.Go, Framework: detect.NetHTTP, Entry: ".", Port: 8080, HealthPath: "/healthz",
			Existing: detect.Existing{Dockerfile: "Dockerfile", Chart: "chart"},
		})},
		{"three-services", repo("repos/three-services",
			detect.Service{Name: "api", Dir: "src/api", Code: "src/api", Language: detect.Python, Framework: detect.FastAPI, Server: detect.Uvicorn,
				Entry: "main:app", Port: 8000, HealthPath: "/healthz",
				Dependencies: []detect.Dependency{{Kind: detect.PostgreSQL, Env: []string{"DATABASE_URL"}}, {Kind: detect.Redis, Env: []string{"REDIS_URL"}}},
				Env:          []detect.EnvVar{{Name: "DATABASE_URL", Secret: true}, {Name: "REDIS_URL"}},
				Metrics:      detect.Metrics{Preset: detect.FastAPIExporter, Path: "/metrics"}},
			detect.Service{Name: "web", Dir: "src/web", Code: "src/web", Language: detect.Node, Framework: detect.Express, Entry: "index.js", Port: 3000},
			detect.Service{Name: "worker", Dir: "src/worker", Code: "src/worker", Language: detect.Python, Entry: "worker",
				Dependencies: []detect.Dependency{{Kind: detect.Redis, Env: []string{"REDIS_URL"}}},
				Env:          []detect.EnvVar{{Name: "REDIS_URL"}}},
		)},
	}
}
