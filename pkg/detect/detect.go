package detect

// Repository is what detection found in one repository: its services and the
// delivery files it already has.
type Repository struct {
	// Root is the repository's directory on disk.
	Root string
	// Services are the deployable units, sorted by Dir. A single-service
	// repository has one, whose Dir may be "." or a subdirectory such as "src".
	Services []Service
	// Workflows are the GitHub Actions workflow files present, relative to
	// Root (".github/workflows/*.yml"), sorted.
	Workflows []string
	// Evidence records what each repository-wide choice was read from.
	Evidence []Evidence
}

// Service is one deployable unit of a repository.
type Service struct {
	// Name is the service's name, a DNS-1123 label (the image and Kubernetes
	// names derive from it): the directory's name, or the repository's.
	Name string
	// Dir is the service's directory relative to the repository root, "." for
	// the root. Its manifest files (requirements.txt, go.mod, ...) are there.
	Dir string
	// Code is where the application's code lives, relative to the repository
	// root (Dir itself, or a subdirectory such as "src").
	Code string

	Language Language
	// LanguageVersion is the language version the project asks for, as it
	// writes it ("1.23" from go.mod, ">=3.11" from requires-python, ">=20"
	// from package.json's engines, "21" from pom.xml); empty when unstated.
	LanguageVersion string
	// Lockfile is the dependency lock file, relative to the repository root
	// (package-lock.json, go.sum, poetry.lock, Pipfile.lock); empty when none.
	Lockfile  string
	Framework Framework
	// Server is the process that serves a Python web app (gunicorn, uvicorn);
	// empty for other languages and for workers.
	Server Server
	// Entry is how the app is started: a WSGI/ASGI target ("shop.wsgi:app"),
	// a Python script for a worker ("worker.py"), a Go main package
	// ("./cmd/api"), a Node script ("src/server.js") or a Java artifact
	// ("target/billing-0.7.0.jar"), relative to Dir; empty when unknown.
	Entry string
	// Port is the TCP port the app listens on (0 when unknown).
	Port int
	// HealthPath is an HTTP path that answers 2xx when the app is healthy
	// ("/healthz"); empty when none was found.
	HealthPath string

	// TestCommand runs the project's tests, as argv; nil when none was found.
	TestCommand []string
	// Dependencies are the backing services the app and its tests need.
	Dependencies []Dependency
	// Env are the environment variables the code reads, sorted by Name.
	Env []EnvVar
	// Migrations is how the database schema is migrated; zero when none.
	Migrations Migrations
	// Metrics says what the app exports for Prometheus; zero when nothing.
	Metrics Metrics

	// Existing lists the delivery files the service already has.
	Existing Existing
	// Evidence records what each choice above was read from.
	Evidence []Evidence
}

// Language is a service's main language, as go-enry names it, lower case.
type Language string

// The languages the generator knows.
const (
	Python Language = "python"
	Go     Language = "go"
	Node   Language = "javascript" // TypeScript projects are Node services too
	Java   Language = "java"
)

// Framework is the web (or worker) framework a service is built on.
type Framework string

// The frameworks detection recognises; "" when none is.
const (
	Flask      Framework = "flask"
	FastAPI    Framework = "fastapi"
	Django     Framework = "django"
	NetHTTP    Framework = "net/http"
	Gin        Framework = "gin"
	Echo       Framework = "echo"
	Chi        Framework = "chi"
	Fiber      Framework = "fiber"
	GorillaMux Framework = "gorilla/mux"
	Express    Framework = "express"
	Next       Framework = "next"
	Fastify    Framework = "fastify"
	SpringBoot Framework = "spring-boot"
)

// Server is the process serving a Python web app.
type Server string

// Python servers.
const (
	Gunicorn Server = "gunicorn"
	Uvicorn  Server = "uvicorn"
)

// DependencyKind is a backing service.
type DependencyKind string

// Backing services detection recognises.
const (
	PostgreSQL DependencyKind = "postgresql"
	MySQL      DependencyKind = "mysql"
	Redis      DependencyKind = "redis"
)

// Dependency is a backing service the app needs, and the environment the app
// reads to reach it.
type Dependency struct {
	Kind DependencyKind
	// Env are the variables the code reads for this service (DATABASE_URL,
	// DB_HOST, ...), sorted.
	Env []string
	// Because names what made detection decide (a driver: psycopg, asyncpg, pgx, ...).
	Because Evidence
}

// EnvVar is an environment variable the code reads.
type EnvVar struct {
	Name string
	// Default is the default the code gives, when it gives one literally.
	Default string
	// Secret says the name looks like a credential (PASSWORD, TOKEN, SECRET,
	// KEY, a URL with credentials): it belongs in a Secret, never a ConfigMap.
	Secret bool
	// At is where it is read.
	At Evidence
}

// MigrationTool is a schema migration tool.
type MigrationTool string

// Migration tools detection recognises.
const (
	Alembic       MigrationTool = "alembic"
	FlaskMigrate  MigrationTool = "flask-migrate"
	DjangoMigrate MigrationTool = "django"
	Custom        MigrationTool = "custom" // the app's own command, e.g. "python -m shop migrate"
)

// Migrations is how the schema is migrated.
type Migrations struct {
	Tool MigrationTool
	// Command runs the migrations inside the app's image, as argv.
	Command []string
	At      Evidence
}

// MetricsPreset names an exporter whose metric names the generated monitoring
// uses.
type MetricsPreset string

// Metric presets.
const (
	FlaskExporter   MetricsPreset = "prometheus_flask_exporter"
	FastAPIExporter MetricsPreset = "prometheus-fastapi-instrumentator"
	PromHTTP        MetricsPreset = "client_golang"
	Micrometer      MetricsPreset = "micrometer"
	PromClient      MetricsPreset = "prom-client"
	PythonClient    MetricsPreset = "prometheus_client" // the app's own metrics, e.g. the shop's
)

// Metrics is what the app exports for Prometheus.
type Metrics struct {
	Preset MetricsPreset
	// Path is the HTTP path of the metrics ("/metrics").
	Path string
	At   Evidence
}

// Existing are the delivery files a service already has, relative to the
// repository root; empty when absent.
type Existing struct {
	Dockerfile    string
	Dockerignore  string
	Manifests     []string // plain Kubernetes YAML files or directories
	Kustomization string   // directory holding a kustomization.yaml
	Chart         string   // directory holding a Chart.yaml
}

// Evidence is where a detected fact was read: a file and line, and what was
// concluded from it ("flask in requirements.txt:3").
type Evidence struct {
	What string // the fact, e.g. "framework flask"
	File string // relative to the repository root
	Line int    // 1-based; 0 when the whole file is the evidence
}
