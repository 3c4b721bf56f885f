package detect

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Detect reads the repository at root and says what it holds: its services,
// each with its language, framework, entry, port, health path, tests, backing
// services, environment, migrations and metrics, and the delivery files it
// already has. Every fact carries the file and line it was read from.
//
// A repository with no source file at all gives a *NoSourceError
// (errors.Is(err, ErrNoSource)). A service whose language is none the
// generator knows gives an *UnknownLanguageError (errors.Is(err,
// ErrUnknownLanguage)) together with the Repository as far as it was
// detected, so that a caller with an override can go on (or call Detect again
// WithLanguage). A project file that cannot be parsed gives a *FileError
// naming the file and line.
func Detect(ctx context.Context, root string, opts ...Option) (Repository, error) {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	for dir, l := range o.languages {
		if !l.known() {
			return Repository{}, fmt.Errorf("language %q for %q: %w", l, dir, ErrUnknownLanguage)
		}
	}
	fsys := o.fsys
	if fsys == nil {
		st, err := os.Stat(root)
		if err != nil {
			return Repository{}, fmt.Errorf("reading the repository: %w", err)
		}
		if !st.IsDir() {
			return Repository{}, fmt.Errorf("reading the repository: %s is not a directory", root)
		}
		fsys = os.DirFS(root)
	}
	t, err := readTree(ctx, fsys)
	if err != nil {
		return Repository{}, fmt.Errorf("reading the repository %s: %w", root, err)
	}
	d := &detector{t: t, opts: o}
	repo := Repository{Root: root}
	if len(t.languages(t.files)) == 0 {
		return Repository{}, &NoSourceError{Root: root}
	}

	dirs, why := d.serviceDirs()
	repo.Evidence = append(repo.Evidence, why...)
	var unknown *UnknownLanguageError
	for _, dir := range dirs {
		if err := ctx.Err(); err != nil {
			return Repository{}, err
		}
		svc, err := d.service(root, dir, dirs)
		var ul *UnknownLanguageError
		switch {
		case errors.As(err, &ul):
			if unknown == nil {
				unknown = ul
			}
		case err != nil:
			return Repository{}, err
		}
		repo.Services = append(repo.Services, svc)
	}
	sort.Slice(repo.Services, func(i, j int) bool { return repo.Services[i].Dir < repo.Services[j].Dir })

	for _, f := range t.byDir[".github/workflows"] {
		if ext := path.Ext(f.path); ext == ".yml" || ext == ".yaml" {
			repo.Workflows = append(repo.Workflows, f.path)
			repo.Evidence = append(repo.Evidence, Evidence{What: "workflow", File: f.path})
		}
	}
	if unknown != nil {
		return repo, unknown
	}
	return repo, nil
}

func (l Language) known() bool {
	switch l {
	case Python, Go, Node, Java:
		return true
	}
	return false
}

type detector struct {
	t    *tree
	opts options
}

// projectFiles are the files that make a directory a project of its own.
func isProjectFile(name string) bool {
	switch name {
	case "pyproject.toml", "Pipfile", "setup.py", "setup.cfg", "go.mod", "package.json",
		"pom.xml", "build.gradle", "build.gradle.kts":
		return true
	}
	return strings.HasPrefix(name, "requirements") && strings.HasSuffix(name, ".txt")
}

// projectFilesFirst orders the project files named as a service's evidence.
var projectFilesFirst = []string{"pyproject.toml", "requirements.txt", "Pipfile", "setup.cfg", "setup.py",
	"go.mod", "package.json", "pom.xml", "build.gradle.kts", "build.gradle"}

func (d *detector) projectFile(dir string) string {
	for _, name := range projectFilesFirst {
		if p := join(dir, name); d.t.has(p) {
			return p
		}
	}
	for _, f := range d.t.byDir[dir] {
		if name := path.Base(f.path); isProjectFile(name) {
			return f.path
		}
	}
	return ""
}

// serviceDirs finds the services: two or more of services/*, src/*, apps/*
// with project files of their own are as many services; otherwise the root is
// one, or failing project files there, each top-level directory that has
// them.
func (d *detector) serviceDirs() ([]string, []Evidence) {
	var multi []string
	var why []Evidence
	for _, parent := range []string{"apps", "services", "src"} {
		for dir := range d.t.dirs {
			if path.Dir(dir) == parent {
				if pf := d.projectFile(dir); pf != "" {
					multi = append(multi, dir)
					why = append(why, Evidence{What: "service " + dir, File: pf})
				}
			}
		}
	}
	sortEvidence := func() {
		sort.Strings(multi)
		sort.Slice(why, func(i, j int) bool { return why[i].File < why[j].File })
	}
	if len(multi) >= 2 {
		sortEvidence()
		return multi, why
	}
	if pf := d.projectFile("."); pf != "" {
		return []string{"."}, []Evidence{{What: "service at the root", File: pf}}
	}
	if len(multi) == 1 {
		return multi, why
	}
	multi, why = nil, nil
	for dir := range d.t.dirs {
		if path.Dir(dir) == "." && !strings.HasPrefix(dir, ".") {
			if pf := d.projectFile(dir); pf != "" {
				multi = append(multi, dir)
				why = append(why, Evidence{What: "service " + dir, File: pf})
			}
		}
	}
	if len(multi) > 0 {
		sortEvidence()
		return multi, why
	}
	return []string{"."}, []Evidence{{What: "service at the root (no project file: by its code only)"}}
}

// svc gathers one service's facts as they are found.
type svc struct {
	d     *detector
	s     *Service
	files []file // the service's own files, sorted
	deps  []dep
	env   map[string]EnvVar
	// docker is the service's Dockerfile, parsed, when it has one.
	docker *dockerfile
}

// dep is a package a project depends on, in its ecosystem's naming (a PyPI
// name normalised, a Go module path, an npm name, "group:artifact").
type dep struct {
	name    string
	version string
	dev     bool
	at      Evidence
}

func (c *svc) note(what, file string, line int) Evidence {
	e := Evidence{What: what, File: file, Line: line}
	c.s.Evidence = append(c.s.Evidence, e)
	return e
}

func (c *svc) findDep(names ...string) (dep, bool) {
	for _, n := range names {
		for _, x := range c.deps {
			if x.name == n {
				return x, true
			}
		}
	}
	return dep{}, false
}

func (d *detector) service(root, dir string, all []string) (Service, error) {
	s := Service{Dir: dir, Code: dir}
	c := &svc{d: d, s: &s, files: d.t.under(dir, all), env: map[string]EnvVar{}}
	s.Name = serviceName(root, dir)
	counts := d.t.languages(c.files)
	lang, first, ok := mainLanguage(counts)
	if forced, set := d.forcedLanguage(dir); set {
		lang, ok = forced, true
		c.note("language "+string(lang)+" (given)", "", 0)
	} else if ok {
		var total int64
		for _, lc := range counts {
			total += lc.bytes
		}
		c.note(fmt.Sprintf("language %s (go-enry: %s, %d%% of the code)", lang, first.name, percent(sumKnown(counts, lang), total)), first.first, 0)
	}
	if !ok {
		var found []string
		for _, lc := range counts {
			found = append(found, lc.name)
		}
		c.existing()
		return s, &UnknownLanguageError{Dir: dir, Found: found}
	}
	s.Language = lang
	if err := c.existing(); err != nil {
		return s, err
	}
	var err error
	switch lang {
	case Python:
		err = c.python()
	case Go:
		err = c.golang()
	case Node:
		err = c.node()
	case Java:
		err = c.java()
	}
	if err != nil {
		return s, err
	}
	c.finish()
	return s, nil
}

func (d *detector) forcedLanguage(dir string) (Language, bool) {
	if l, ok := d.opts.languages[dir]; ok {
		return l, true
	}
	l, ok := d.opts.languages[""]
	return l, ok
}

func sumKnown(counts []langCount, l Language) int64 {
	var n int64
	for _, c := range counts {
		if known[c.name] == l {
			n += c.bytes
		}
	}
	return n
}

func percent(n, total int64) int64 {
	if total == 0 {
		return 0
	}
	return n * 100 / total
}

var notLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// serviceName makes a DNS-1123 label of the service directory's name, or of
// the repository directory's for the root service.
func serviceName(root, dir string) string {
	base := path.Base(dir)
	if dir == "." {
		abs, err := filepath.Abs(root)
		if err != nil {
			abs = root
		}
		base = filepath.Base(abs)
	}
	n := strings.Trim(notLabel.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	if n == "" {
		n = "app"
	}
	return n
}

// finish settles the facts found in several places: the environment, the
// backing services' variables, and the order of everything.
func (c *svc) finish() {
	s := c.s
	names := make([]string, 0, len(c.env))
	for n := range c.env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.Env = append(s.Env, c.env[n])
	}
	c.inferDependencies()
	for i := range s.Dependencies {
		dep := &s.Dependencies[i]
		for _, n := range names {
			if readsFor(n, dep.Kind) {
				dep.Env = append(dep.Env, n)
			}
		}
	}
	for i := range s.Env {
		e := &s.Env[i]
		e.Secret = secretName(e.Name)
		for _, dep := range s.Dependencies {
			for _, n := range dep.Env {
				if n == e.Name && isURLName(n) {
					e.Secret = true // a connection URL carries the password
				}
			}
		}
	}
	sort.SliceStable(s.Dependencies, func(i, j int) bool { return s.Dependencies[i].Kind < s.Dependencies[j].Kind })
	for _, d := range s.Dependencies {
		c.note(fmt.Sprintf("needs %s (%s)", d.Kind, d.Because.What), d.Because.File, d.Because.Line)
		if len(d.Env) > 0 {
			c.note(fmt.Sprintf("%s settings %s", d.Kind, strings.Join(d.Env, ", ")), "", 0)
		}
	}
	for _, e := range s.Env {
		what := "reads " + e.Name
		if e.Default != "" {
			what += fmt.Sprintf(" (default %q)", e.Default)
		}
		if e.Secret {
			what += " (secret)"
		}
		c.note(what, e.At.File, e.At.Line)
	}
}

// addDependency records a backing service once, the first reason found.
func (c *svc) addDependency(kind DependencyKind, because Evidence) {
	for _, d := range c.s.Dependencies {
		if d.Kind == kind {
			return
		}
	}
	c.s.Dependencies = append(c.s.Dependencies, Dependency{Kind: kind, Because: because})
}

// inferDependencies adds the backing services that no driver named but the
// environment does: REDIS_URL means Redis; DATABASE_URL means PostgreSQL
// when the code names postgres.
func (c *svc) inferDependencies() {
	has := func(k DependencyKind) bool {
		for _, d := range c.s.Dependencies {
			if d.Kind == k {
				return true
			}
		}
		return false
	}
	for _, e := range c.s.Env {
		n := e.Name
		switch {
		case strings.Contains(n, "REDIS") && !has(Redis):
			c.addDependency(Redis, Evidence{What: "reads " + n, File: e.At.File, Line: e.At.Line})
		case (strings.HasPrefix(n, "POSTGRES") || strings.HasPrefix(n, "PG")) && !has(PostgreSQL) && !has(MySQL):
			c.addDependency(PostgreSQL, Evidence{What: "reads " + n, File: e.At.File, Line: e.At.Line})
		case strings.HasPrefix(n, "MYSQL") && !has(MySQL) && !has(PostgreSQL):
			c.addDependency(MySQL, Evidence{What: "reads " + n, File: e.At.File, Line: e.At.Line})
		}
	}
	if !has(PostgreSQL) && !has(MySQL) {
		for _, e := range c.s.Env {
			if e.Name != "DATABASE_URL" && !strings.HasPrefix(e.Name, "DB_") {
				continue
			}
			if at, ok := c.mentionsPostgres(); ok {
				at.What = "reads " + e.Name + ", and the code names postgres"
				c.addDependency(PostgreSQL, at)
			}
			break
		}
	}
}

var postgresLiteral = regexp.MustCompile(`["'](postgres|postgresql)(://|["'])`)

func (c *svc) mentionsPostgres() (Evidence, bool) {
	for _, f := range c.files {
		if !c.isCode(f.path) || isTest(f.path) {
			continue
		}
		b, err := c.d.t.read(f.path)
		if err != nil {
			continue
		}
		if loc := postgresLiteral.FindIndex(b); loc != nil {
			return Evidence{File: f.path, Line: lineOf(b, loc[0])}, true
		}
	}
	return Evidence{}, false
}

// readsFor says whether the variable n is one the app reads to reach kind:
// a connection setting (URL, host, port, user, password, database name)
// under the service's usual prefixes.
func readsFor(n string, kind DependencyKind) bool {
	if n == "CELERY_BROKER_URL" {
		return kind == Redis
	}
	if n == "DATABASE_URL" || n == "DATABASE_DSN" || strings.HasSuffix(n, "_DATABASE_URL") {
		return kind == PostgreSQL || kind == MySQL
	}
	var prefixes []string
	switch kind {
	case Redis:
		prefixes = []string{"REDIS_", "CACHE_REDIS_"}
	case PostgreSQL:
		prefixes = []string{"DB_", "DATABASE_", "POSTGRES_", "POSTGRESQL_", "PG"}
	case MySQL:
		prefixes = []string{"DB_", "DATABASE_", "MYSQL_"}
	}
	for _, p := range prefixes {
		if !strings.HasPrefix(n, p) {
			continue
		}
		switch strings.TrimPrefix(n, p) {
		case "URL", "URI", "DSN", "HOST", "HOSTNAME", "PORT", "USER", "USERNAME", "PASSWORD", "PASS", "NAME", "DB", "DATABASE", "SSLMODE":
			return true
		}
	}
	return false
}

func isURLName(n string) bool {
	return strings.HasSuffix(n, "_URL") || strings.HasSuffix(n, "_URI") || strings.HasSuffix(n, "_DSN") || n == "DSN"
}

// secretName says whether a variable's name says it holds a credential.
func secretName(n string) bool {
	for _, part := range strings.Split(n, "_") {
		switch part {
		case "PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "TOKEN", "KEY", "CREDENTIALS", "APIKEY", "PRIVATE":
			return true
		}
	}
	return false
}

// isCode says whether p is one of the service's source files in its
// language (tests included).
func (c *svc) isCode(p string) bool {
	switch c.s.Language {
	case Python:
		return strings.HasSuffix(p, ".py")
	case Go:
		return strings.HasSuffix(p, ".go")
	case Node:
		for _, ext := range []string{".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx"} {
			if strings.HasSuffix(p, ext) {
				return true
			}
		}
	case Java:
		return strings.HasSuffix(p, ".java") || strings.HasSuffix(p, ".kt")
	}
	return false
}

// isTest says whether p is a test file or lies in a tests directory.
func isTest(p string) bool {
	base := path.Base(p)
	if strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py") || strings.HasSuffix(base, "_test.go") ||
		strings.Contains(base, ".test.") || strings.Contains(base, ".spec.") || base == "conftest.py" || base == "tests.py" {
		return true
	}
	for _, part := range strings.Split(path.Dir(p), "/") {
		if part == "tests" || part == "test" || part == "__tests__" || part == "testdata" {
			return true
		}
	}
	return false
}
