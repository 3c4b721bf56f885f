package detect

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// facts is the part of a Service these tests check.
type facts struct {
	Language   Language
	Framework  Framework
	Server     Server
	Entry      string
	Port       int
	HealthPath string
	Test       []string
	Deps       []DependencyKind
	Migrations MigrationTool
	Metrics    MetricsPreset
	Code       string
}

func factsOf(s Service) facts {
	f := facts{Language: s.Language, Framework: s.Framework, Server: s.Server, Entry: s.Entry, Port: s.Port,
		HealthPath: s.HealthPath, Test: s.TestCommand, Migrations: s.Migrations.Tool, Metrics: s.Metrics.Preset, Code: s.Code}
	for _, d := range s.Dependencies {
		f.Deps = append(f.Deps, d.Kind)
	}
	return f
}

func files(kv ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return m
}

func TestServiceFacts(t *testing.T) {
	for _, tc := range []struct {
		name string
		fsys fstest.MapFS
		want facts
	}{
		{"Procfile entry and bind", files(
			"requirements.txt", "flask\ngunicorn\nredis\n",
			"Procfile", "web: gunicorn --bind 0.0.0.0:5005 web.app:app\n",
			"web/__init__.py", "",
			"web/app.py", "from flask import Flask\napp = Flask(__name__)\n\n@app.route('/health')\ndef h(): return 'ok'\n",
		), facts{Language: Python, Framework: Flask, Server: Gunicorn, Entry: "web.app:app", Port: 5005, HealthPath: "/health",
			Deps: []DependencyKind{Redis}, Code: "web"}},
		{"Dockerfile CMD with uvicorn, alembic", files(
			"pyproject.toml", "[project]\nname='a'\ndependencies=['fastapi','uvicorn','sqlalchemy','psycopg2-binary','alembic']\n",
			"alembic.ini", "[alembic]\nscript_location = alembic\n",
			"Dockerfile", "FROM python\nCMD uvicorn api.main:app --host 0.0.0.0 --port 9000\n",
			"api/main.py", "from fastapi import FastAPI\napp = FastAPI()\n",
			"tests/test_main.py", "def test(): pass\n",
		), facts{Language: Python, Framework: FastAPI, Server: Uvicorn, Entry: "api.main:app", Port: 9000,
			Test: []string{"python3", "-m", "unittest", "discover"}, Deps: []DependencyKind{PostgreSQL}, Migrations: Alembic, Code: "api"}},
		{"gin and pgx", files(
			"go.mod", "module x\n\ngo 1.24\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.10.0\n\tgithub.com/jackc/pgx/v5 v5.7.1\n)\n",
			"main.go", "package main\n\nimport \"github.com/gin-gonic/gin\"\n\nfunc main() {\n\tr := gin.Default()\n\tr.GET(\"/livez\", nil)\n\tr.Run(\"0.0.0.0:8081\")\n}\n",
		), facts{Language: Go, Framework: Gin, Entry: ".", Port: 8081, HealthPath: "/livez", Deps: []DependencyKind{PostgreSQL}, Code: "."}},
		{"Next with no tests", files(
			"package.json", `{"name":"site","scripts":{"start":"next start","test":"echo \"Error: no test specified\" && exit 1"},"dependencies":{"next":"15.0.0","ioredis":"5"}}`,
			"pages/index.tsx", "export default function Home() { return null }\n",
		), facts{Language: Node, Framework: Next, Entry: "next start", Port: 3000, Deps: []DependencyKind{Redis}, Code: "."}},
		{"Gradle Kotlin DSL Spring Boot", files(
			"build.gradle.kts", "plugins {\n    id(\"org.springframework.boot\") version \"3.4.1\"\n}\ndependencies {\n    implementation(\"org.springframework.boot:spring-boot-starter-actuator\")\n    runtimeOnly(\"com.mysql:mysql-connector-j\")\n    testImplementation(\"org.springframework.boot:spring-boot-starter-test\")\n}\n",
			"gradlew", "#!/bin/sh\n",
			"src/main/kotlin/App.kt", "fun main() {}\n",
			"src/main/resources/application.yml", "server:\n  port: 9090\n",
			"src/test/kotlin/AppTest.kt", "class AppTest\n",
		), facts{Language: Java, Framework: SpringBoot, Port: 9090, HealthPath: "/actuator/health", Test: []string{"./gradlew", "test"},
			Deps: []DependencyKind{MySQL}, Code: "src"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo, err := detectFS(t, tc.fsys)
			require.NoError(t, err)
			require.Len(t, repo.Services, 1)
			assert.Equal(t, tc.want, factsOf(repo.Services[0]))
			for _, e := range repo.Services[0].Evidence {
				if e.File != "" {
					_, ok := tc.fsys[e.File]
					_, dir := tc.fsys[e.File+"/x"]
					assert.True(t, ok || dir || e.File == ".", "evidence %v names a file that is not there", e)
				}
			}
		})
	}
}
