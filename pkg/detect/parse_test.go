package detect

import (
	"errors"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRequirements(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Requirement
	}{
		{"pinned", "Flask==3.1.0\n", []Requirement{{Name: "flask", Spec: "==3.1.0", Line: 1}}},
		{"extras and comment", "# db\npsycopg[binary,pool]==3.2.3  # psycopg 3\n",
			[]Requirement{{Name: "psycopg", Extras: []string{"binary", "pool"}, Spec: "==3.2.3", Line: 2}}},
		{"normalised name", "Flask_SQLAlchemy>=3\nzope.interface\n",
			[]Requirement{{Name: "flask-sqlalchemy", Spec: ">=3", Line: 1}, {Name: "zope-interface", Line: 2}}},
		{"options and includes skipped", "-r base.txt\n--index-url https://x/simple\n-e .\n./local\nrequests\n",
			[]Requirement{{Name: "requests", Line: 5}}},
		{"markers and hashes dropped", "gunicorn==23.0.0 ; sys_platform != 'win32' \\\n    --hash=sha256:abc\nuvicorn\n",
			[]Requirement{{Name: "gunicorn", Spec: "==23.0.0", Line: 1}, {Name: "uvicorn", Line: 3}}},
		{"URL requirement", "pkg @ https://example.com/pkg.whl\nhttps://example.com/x.whl\n",
			[]Requirement{{Name: "pkg", Spec: "@https://example.com/pkg.whl", Line: 1}}},
		{"spaces in specifier", "django >= 5.1, < 6\n", []Requirement{{Name: "django", Spec: ">=5.1,<6", Line: 1}}},
		{"hash in URL fragment is not a comment", "a==1#frag\n", []Requirement{{Name: "a", Spec: "==1#frag", Line: 1}}},
		{"free text", "this is not a requirement\n\n", nil},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, ParseRequirements([]byte(tc.in)))
		})
	}
}

func FuzzParseRequirements(f *testing.F) {
	for _, seed := range []string{"Flask==3.1.0\n", "psycopg[binary]==3.2.3 # x\n", "-r a.txt\n", "a \\\n==1\n", "pkg @ https://x/y\n", "[\n", "a[b\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		reqs := ParseRequirements([]byte(in))
		lines := 1
		for _, c := range in {
			if c == '\n' {
				lines++
			}
		}
		for _, r := range reqs {
			if r.Name == "" || r.Name != NormalizeName(r.Name) {
				t.Fatalf("name %q is empty or not normalised", r.Name)
			}
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("line %d outside 1..%d", r.Line, lines)
			}
		}
	})
}

func TestParsePyproject(t *testing.T) {
	t.Run("PEP 621, optional groups, pytest", func(t *testing.T) {
		p, err := ParsePyproject("pyproject.toml", []byte(`[project]
name = "x"
requires-python = ">=3.12"
dependencies = ["fastapi==0.115.6", "asyncpg"]

[project.optional-dependencies]
test = ["pytest"]

[tool.pytest.ini_options]
testpaths = ["tests"]
`))
		require.NoError(t, err)
		assert.Equal(t, ">=3.12", p.version.What)
		assert.Equal(t, 3, p.version.Line)
		require.Len(t, p.deps, 3)
		assert.Equal(t, dep{name: "fastapi", version: "==0.115.6", at: Evidence{What: "fastapi in pyproject.toml", File: "pyproject.toml", Line: 4}}, p.deps[0])
		assert.True(t, p.deps[2].dev)
		assert.Equal(t, 9, p.pytestCfg.Line)
	})
	t.Run("poetry", func(t *testing.T) {
		p, err := ParsePyproject("pyproject.toml", []byte(`[tool.poetry.dependencies]
python = "^3.11"
Django = "^5.1"

[tool.poetry.group.dev.dependencies]
pytest = "^8"
`))
		require.NoError(t, err)
		assert.Equal(t, "^3.11", p.version.What)
		require.Len(t, p.deps, 2)
		assert.Equal(t, "django", p.deps[0].name)
		assert.Equal(t, 3, p.deps[0].at.Line)
		assert.True(t, p.deps[1].dev)
	})
	for _, tc := range []struct {
		name, in string
		line     int
	}{
		{"syntax error", "[project]\nname = \"x\"\ndependencies = [\"a\",\n  oops\n]\n", 4},
		{"wrong type", "[project]\nname = \"x\"\ndependencies = \"flask\"\n", 3},
		{"unclosed table", "[project\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePyproject("pyproject.toml", []byte(tc.in))
			var fe *FileError
			require.True(t, errors.As(err, &fe), "got %v", err)
			assert.Equal(t, "pyproject.toml", fe.File)
			assert.Equal(t, tc.line, fe.Line, "%v", err)
		})
	}
}

func TestParsePipfile(t *testing.T) {
	p, err := ParsePipfile("Pipfile", []byte(`[[source]]
url = "https://pypi.org/simple"

[packages]
flask = "*"
psycopg2-binary = "==2.9.10"

[dev-packages]
pytest = "*"

[requires]
python_version = "3.12"
`))
	require.NoError(t, err)
	assert.Equal(t, "3.12", p.version.What)
	var names []string
	for _, d := range p.deps {
		names = append(names, d.name)
	}
	assert.Equal(t, []string{"flask", "psycopg2-binary", "pytest"}, names)
	assert.Equal(t, 6, p.deps[1].at.Line)
	assert.True(t, p.deps[2].dev)

	_, err = ParsePipfile("Pipfile", []byte("[packages\n"))
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 1, fe.Line)
}

func TestParseSetupCfg(t *testing.T) {
	p, err := ParseSetupCfg("setup.cfg", []byte(`[metadata]
name = x

[options]
python_requires = >=3.10
install_requires =
    flask>=3
    gunicorn

[options.extras_require]
test =
    pytest

[tool:pytest]
testpaths = tests
`))
	require.NoError(t, err)
	assert.Equal(t, ">=3.10", p.version.What)
	require.Len(t, p.deps, 3)
	assert.Equal(t, dep{name: "flask", version: ">=3", at: Evidence{What: "flask in setup.cfg", File: "setup.cfg", Line: 7}}, p.deps[0])
	assert.True(t, p.deps[2].dev)
	assert.Equal(t, 14, p.pytestCfg.Line)
}

func TestParsePackageJSON(t *testing.T) {
	p, err := ParsePackageJSON("package.json", []byte(`{"name": "x", "scripts": {"test": "node --test"}, "dependencies": {"pg": "8.13.1"}}`))
	require.NoError(t, err)
	assert.Equal(t, "node --test", p.Scripts["test"])
	assert.Equal(t, "8.13.1", p.Dependencies["pg"])

	_, err = ParsePackageJSON("package.json", []byte("{\n  \"name\": \"x\",\n  \"scripts\": {,}\n}\n"))
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 3, fe.Line)

	_, err = ParsePackageJSON("package.json", []byte("{\n  \"dependencies\": [\"pg\"]\n}\n"))
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 2, fe.Line)
}

func TestParsePOM(t *testing.T) {
	p, err := ParsePOM("pom.xml", []byte(`<project>
  <parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-parent</artifactId><version>3.4.1</version></parent>
  <artifactId>billing</artifactId>
  <version>1.0</version>
  <properties><java.version>21</java.version></properties>
  <dependencies>
    <dependency>
      <groupId>org.postgresql</groupId>
      <artifactId>postgresql</artifactId>
      <scope>runtime</scope>
    </dependency>
  </dependencies>
  <build><plugins><plugin><artifactId>not-a-dependency</artifactId></plugin></plugins></build>
</project>`))
	require.NoError(t, err)
	assert.Equal(t, "billing", p.ArtifactID)
	assert.Equal(t, "spring-boot-starter-parent", p.Parent.ArtifactID)
	assert.Equal(t, "21", p.Properties["java.version"])
	assert.Equal(t, []MavenArtifact{{GroupID: "org.postgresql", ArtifactID: "postgresql", Scope: "runtime", Line: 7}}, p.Dependencies)

	_, err = ParsePOM("pom.xml", []byte("<project>\n<artifactId>x</artifactId>\n<dependencies>\n</project>\n"))
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, 4, fe.Line)
}

func TestParseDockerfile(t *testing.T) {
	df, err := parseDockerfile("Dockerfile", []byte(`FROM golang AS build
EXPOSE 9999
CMD ["build"]
FROM debian
EXPOSE 8000/tcp 9000
ENTRYPOINT ["python3", "-m", "shop"]
CMD serve --fast
`))
	require.NoError(t, err)
	assert.Equal(t, []int{8000, 9000}, df.expose)
	assert.Equal(t, 5, df.exposeLine)
	assert.Equal(t, []string{"python3", "-m", "shop", "serve", "--fast"}, df.cmd)
	assert.Equal(t, 6, df.cmdLine)
}

func TestScanEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		re   string
		src  string
		want []EnvVar
	}{
		{"python reads", "py", `import os
a = os.environ["DB_USER"]
b = os.environ.get("DB_HOST", "localhost")
c = os.getenv("PORT", 8000)
os.environ["SET_HERE"] = "x"
d = env.get("LOG_LEVEL", cls.level)
e = _int(env, "WORKERS", 2)
f = os.environ.get('lower_case')
`, []EnvVar{
			{Name: "DB_HOST", Default: "localhost", At: Evidence{What: "reads DB_HOST", File: "f", Line: 3}},
			{Name: "DB_USER", At: Evidence{What: "reads DB_USER", File: "f", Line: 2}},
			{Name: "LOG_LEVEL", At: Evidence{What: "reads LOG_LEVEL", File: "f", Line: 6}},
			{Name: "PORT", Default: "8000", At: Evidence{What: "reads PORT", File: "f", Line: 4}},
			{Name: "WORKERS", Default: "2", At: Evidence{What: "reads WORKERS", File: "f", Line: 7}},
		}},
		{"javascript reads", "js", "const port = process.env.PORT || 3000;\nconst u = process.env['DATABASE_URL'] ?? 'postgres://x';\nif (process.env.NODE_ENV) {}\n", []EnvVar{
			{Name: "DATABASE_URL", Default: "postgres://x", At: Evidence{What: "reads DATABASE_URL", File: "f", Line: 2}},
			{Name: "PORT", Default: "3000", At: Evidence{What: "reads PORT", File: "f", Line: 1}},
		}},
		{"spring placeholders", "spring", "server.port=${PORT:8080}\nspring.datasource.password=${DB_PASSWORD}\nx=${lower.case:1}\n", []EnvVar{
			{Name: "DB_PASSWORD", At: Evidence{What: "reads DB_PASSWORD", File: "f", Line: 2}},
			{Name: "PORT", Default: "8080", At: Evidence{What: "reads PORT", File: "f", Line: 1}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &svc{s: &Service{}, env: map[string]EnvVar{}}
			re := map[string]*regexp.Regexp{"py": pyEnv, "js": jsEnv, "spring": springPlaceholder}[tc.re]
			c.scanEnv("f", []byte(tc.src), re)
			var got []EnvVar
			for _, n := range sortedKeys(c.env) {
				got = append(got, c.env[n])
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestReadsForAndSecrets(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind DependencyKind
		want bool
	}{
		{"DATABASE_URL", PostgreSQL, true}, {"DB_HOST", PostgreSQL, true}, {"PGPASSWORD", PostgreSQL, true},
		{"DB_POOL_SIZE", PostgreSQL, false}, {"DB_CONNECT_TIMEOUT", PostgreSQL, false}, {"REDIS_URL", PostgreSQL, false},
		{"REDIS_URL", Redis, true}, {"CELERY_BROKER_URL", Redis, true}, {"MYSQL_PASSWORD", MySQL, true},
	} {
		assert.Equal(t, tc.want, readsFor(tc.name, tc.kind), "%s for %s", tc.name, tc.kind)
	}
	for name, want := range map[string]bool{"DB_PASSWORD": true, "DJANGO_SECRET_KEY": true, "API_TOKEN": true, "KEYBOARD": false, "DB_HOST": false, "PORT": false} {
		assert.Equal(t, want, secretName(name), name)
	}
}
