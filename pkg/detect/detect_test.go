package detect

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func detectFS(t *testing.T, fsys fstest.MapFS, opts ...Option) (Repository, error) {
	t.Helper()
	return Detect(context.Background(), "repo", append([]Option{WithFS(fsys)}, opts...)...)
}

func TestNoSource(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"empty":                     {},
		"documentation only":        {"README.md": {Data: []byte("# x\n")}, "docs/guide.md": {Data: []byte("x")}},
		"a Dockerfile and no code":  {"Dockerfile": {Data: []byte("FROM scratch\n")}, "Makefile": {Data: []byte("all:\n")}},
		"code only in node_modules": {"package.json": {Data: []byte(`{}`)}, "node_modules/x/index.js": {Data: []byte("module.exports = 1\n")}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := detectFS(t, fsys)
			require.ErrorIs(t, err, ErrNoSource)
			var ns *NoSourceError
			require.ErrorAs(t, err, &ns)
			assert.Equal(t, "repo", ns.Root)
			assert.False(t, errors.Is(err, ErrUnknownLanguage))
		})
	}
}

func TestUnknownLanguage(t *testing.T) {
	fsys := fstest.MapFS{
		"Gemfile":     {Data: []byte("source 'https://rubygems.org'\ngem 'rails'\n")},
		"app/main.rb": {Data: []byte("puts 'hello'\n")},
		"Dockerfile":  {Data: []byte("FROM ruby\nEXPOSE 3000\n")},
	}
	repo, err := detectFS(t, fsys)
	require.ErrorIs(t, err, ErrUnknownLanguage)
	assert.False(t, errors.Is(err, ErrNoSource))
	var ul *UnknownLanguageError
	require.ErrorAs(t, err, &ul)
	assert.Equal(t, ".", ul.Dir)
	assert.Equal(t, []string{"Ruby"}, ul.Found)
	// What was found is still returned, for a caller with an override.
	require.Len(t, repo.Services, 1)
	assert.Equal(t, Language(""), repo.Services[0].Language)
	assert.Equal(t, "Dockerfile", repo.Services[0].Existing.Dockerfile)

	// The override makes detection go on in that language.
	_, err = detectFS(t, fsys, WithLanguage("", Go))
	require.NoError(t, err)
	_, err = detectFS(t, fsys, WithLanguage("", Language("ruby")))
	require.ErrorIs(t, err, ErrUnknownLanguage)
}

func TestBadProjectFile(t *testing.T) {
	for name, tc := range map[string]struct {
		fsys fstest.MapFS
		file string
		line int
	}{
		"invalid pyproject": {fstest.MapFS{
			"app.py":         {Data: []byte("import flask\n")},
			"pyproject.toml": {Data: []byte("[project]\nname = \"x\"\ndependencies = [\n  \"flask\"\n  \"gunicorn\"\n]\n")},
		}, "pyproject.toml", 5},
		"pyproject with a wrong type": {fstest.MapFS{
			"app.py":         {Data: []byte("import flask\n")},
			"pyproject.toml": {Data: []byte("[project]\nname = \"x\"\n\ndependencies = { flask = \"*\" }\n")},
		}, "pyproject.toml", 4},
		"invalid package.json": {fstest.MapFS{
			"index.js":     {Data: []byte("console.log(1)\n")},
			"package.json": {Data: []byte("{\n  \"name\": \"x\"\n  \"main\": \"index.js\"\n}\n")},
		}, "package.json", 3},
		"invalid go.mod": {fstest.MapFS{
			"main.go": {Data: []byte("package main\nfunc main() {}\n")},
			"go.mod":  {Data: []byte("module x\n\ngo 1.22\nrequire (\n  nonsense\n)\n")},
		}, "go.mod", 5},
		"invalid pom.xml": {fstest.MapFS{
			"src/main/java/A.java": {Data: []byte("class A {}\n")},
			"pom.xml":              {Data: []byte("<project>\n<artifactId>a</artifactId>\n<dependencies>\n</project>\n")},
		}, "pom.xml", 4},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := detectFS(t, tc.fsys)
			var fe *FileError
			require.ErrorAs(t, err, &fe, "got %v", err)
			assert.Equal(t, tc.file, fe.File)
			assert.Equal(t, tc.line, fe.Line, "%v", err)
			assert.Contains(t, err.Error(), tc.file+":")
		})
	}
}

func TestNotADirectory(t *testing.T) {
	_, err := Detect(context.Background(), "detect_test.go")
	require.Error(t, err)
	_, err = Detect(context.Background(), "testdata/no-such-repo")
	require.Error(t, err)
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Detect(ctx, fixtures["shop"])
	require.ErrorIs(t, err, context.Canceled)
}

// Vendored code, build outputs, nested Go modules and testdata are not the
// service's code.
func TestSkipsVendoredAndBuildOutput(t *testing.T) {
	repo, err := detectFS(t, fstest.MapFS{
		"go.mod":                      {Data: []byte("module example.com/tool\n\ngo 1.22\n")},
		"main.go":                     {Data: []byte("package main\n\nimport \"os\"\n\nfunc main() { _ = os.Getenv(\"PORT\") }\n")},
		"cmd/other/main.go":           {Data: []byte("package main\n\nfunc main() {}\n")},
		"cmd/tool/main.go":            {Data: []byte("package main\n\nfunc main() {}\n")},
		"tools/gen/go.mod":            {Data: []byte("module gen\n")},
		"tools/gen/main.go":           {Data: []byte("package main\n\nimport \"os\"\n\nfunc main() { _ = os.Getenv(\"NESTED\") }\n")},
		"pkg/x/testdata/a/main.go":    {Data: []byte("package main\n\nimport \"os\"\n\nfunc main() { _ = os.Getenv(\"TESTDATA\") }\n")},
		"vendor/y/y.go":               {Data: []byte("package y\n\nimport \"os\"\n\nvar _ = os.Getenv(\"VENDORED\")\n")},
		".venv/lib/x.py":              {Data: []byte("import os\nos.getenv('VENV')\n" + string(make([]byte, 10000)))},
		"node_modules/a/index.js":     {Data: []byte("process.env.NODE_MODULES\n")},
		"build/generated/gen.go":      {Data: []byte("package gen\n\nimport \"os\"\n\nvar _ = os.Getenv(\"BUILD\")\n")},
		".github/workflows/ci.yml":    {Data: []byte("on: push\n")},
		".github/workflows/notes.txt": {Data: []byte("x")},
	})
	require.NoError(t, err)
	require.Len(t, repo.Services, 1)
	var names []string
	for _, e := range repo.Services[0].Env {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"PORT"}, names)
	assert.Equal(t, "./cmd/tool", repo.Services[0].Entry, "the command named like the module")
	assert.Equal(t, []string{".github/workflows/ci.yml"}, repo.Workflows)
}

func TestServicesFromDirectories(t *testing.T) {
	repo, err := detectFS(t, fstest.MapFS{
		"apps/billing/go.mod":         {Data: []byte("module b\n\ngo 1.22\n")},
		"apps/billing/main.go":        {Data: []byte("package main\n\nfunc main() {}\n")},
		"apps/Front_End/package.json": {Data: []byte(`{"name": "f", "scripts": {"start": "node index.js"}}`)},
		"apps/Front_End/index.js":     {Data: []byte("console.log(1)\n")},
		"apps/notes/README.md":        {Data: []byte("no code\n")},
		"tools/lint/requirements.txt": {Data: []byte("ruff\n")},
		"tools/lint/lint.py":          {Data: []byte("print(1)\n")},
	})
	require.NoError(t, err)
	require.Len(t, repo.Services, 2)
	assert.Equal(t, "apps/Front_End", repo.Services[0].Dir)
	assert.Equal(t, "front-end", repo.Services[0].Name)
	assert.Equal(t, Node, repo.Services[0].Language)
	assert.Equal(t, "billing", repo.Services[1].Name)
	assert.Equal(t, Go, repo.Services[1].Language)
}
