package detect

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"gopkg.in/ini.v1"
)

// pyProject is what a Python project's own files declare.
type pyProject struct {
	deps      []dep
	version   Evidence // requires-python and where
	pytestCfg Evidence // a pytest configuration, when one is there
}

// devGroup says whether an optional-dependency or group name is for
// development only (tests, linting, docs).
func devGroup(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"test", "dev", "lint", "doc", "type", "check"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func devRequirementsFile(p string) bool {
	n := strings.ToLower(p)
	for _, w := range []string{"dev", "test", "lint", "doc", "ci"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// ParsePyproject reads a pyproject.toml: [project] (PEP 621), Poetry's
// [tool.poetry] and PEP 735's [dependency-groups], and whether pytest is
// configured there. file names it in errors.
func ParsePyproject(file string, b []byte) (pyProject, error) {
	var p pyProject
	var doc map[string]any
	if _, err := toml.Decode(string(b), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return p, &FileError{File: file, Line: pe.Position.Line, Err: errors.New(pe.Message)}
		}
		return p, &FileError{File: file, Err: err}
	}
	bad := func(key, want string) error {
		return &FileError{File: file, Line: findKeyLine(b, key[strings.LastIndex(key, ".")+1:]), Err: fmt.Errorf("%s: expected %s", key, want)}
	}
	addList := func(key string, v any, dev bool) error {
		list, ok := v.([]any)
		if !ok {
			return bad(key, "an array of requirement strings")
		}
		for _, item := range list {
			s, ok := item.(string)
			if !ok {
				if _, include := item.(map[string]any); include {
					continue // a PEP 735 {include-group = "..."}
				}
				return bad(key, "an array of requirement strings")
			}
			if r, ok := parseRequirement(s); ok {
				p.deps = append(p.deps, dep{name: r.Name, version: r.Spec, dev: dev,
					at: Evidence{What: r.Name + " in " + path.Base(file), File: file, Line: findLine(b, `"`+s)}})
			}
		}
		return nil
	}
	addTable := func(key string, v any, dev bool) error {
		table, ok := v.(map[string]any)
		if !ok {
			return bad(key, "a table of package = version")
		}
		names := make([]string, 0, len(table))
		for n := range table {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if n == "python" {
				if s, ok := table[n].(string); ok {
					p.version = Evidence{What: s, File: file, Line: findKeyLine(b, n)}
				}
				continue
			}
			version, _ := table[n].(string)
			p.deps = append(p.deps, dep{name: NormalizeName(n), version: version, dev: dev,
				at: Evidence{What: NormalizeName(n) + " in " + path.Base(file), File: file, Line: findKeyLine(b, n)}})
		}
		return nil
	}
	if v, ok := doc["project"]; ok {
		project, ok := v.(map[string]any)
		if !ok {
			return p, bad("project", "a table")
		}
		if deps, ok := project["dependencies"]; ok {
			if err := addList("project.dependencies", deps, false); err != nil {
				return p, err
			}
		}
		if v, ok := project["optional-dependencies"]; ok {
			opt, ok := v.(map[string]any)
			if !ok {
				return p, bad("project.optional-dependencies", "a table of arrays")
			}
			for _, g := range sortedKeys(opt) {
				if err := addList("project.optional-dependencies."+g, opt[g], devGroup(g)); err != nil {
					return p, err
				}
			}
		}
		if rp, ok := project["requires-python"].(string); ok {
			p.version = Evidence{What: rp, File: file, Line: findKeyLine(b, "requires-python")}
		}
	}
	if v, ok := doc["dependency-groups"].(map[string]any); ok {
		for _, g := range sortedKeys(v) {
			if err := addList("dependency-groups."+g, v[g], devGroup(g)); err != nil {
				return p, err
			}
		}
	}
	tool, _ := doc["tool"].(map[string]any)
	if poetry, ok := tool["poetry"].(map[string]any); ok {
		if v, ok := poetry["dependencies"]; ok {
			if err := addTable("tool.poetry.dependencies", v, false); err != nil {
				return p, err
			}
		}
		if v, ok := poetry["dev-dependencies"]; ok {
			if err := addTable("tool.poetry.dev-dependencies", v, true); err != nil {
				return p, err
			}
		}
		if groups, ok := poetry["group"].(map[string]any); ok {
			for _, g := range sortedKeys(groups) {
				if gt, ok := groups[g].(map[string]any); ok {
					if v, ok := gt["dependencies"]; ok {
						if err := addTable("tool.poetry.group."+g+".dependencies", v, devGroup(g)); err != nil {
							return p, err
						}
					}
				}
			}
		}
	}
	if pt, ok := tool["pytest"].(map[string]any); ok {
		if _, ok := pt["ini_options"]; ok {
			p.pytestCfg = Evidence{What: "[tool.pytest.ini_options]", File: file, Line: findLine(b, "[tool.pytest.ini_options]")}
		}
	}
	return p, nil
}

// ParsePipfile reads a Pipfile (TOML): [packages], [dev-packages] and
// [requires] python_version.
func ParsePipfile(file string, b []byte) (pyProject, error) {
	var p pyProject
	var doc struct {
		Packages    map[string]any `toml:"packages"`
		DevPackages map[string]any `toml:"dev-packages"`
		Requires    struct {
			PythonVersion string `toml:"python_version"`
		} `toml:"requires"`
	}
	md, err := toml.Decode(string(b), &doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return p, &FileError{File: file, Line: pe.Position.Line, Err: errors.New(pe.Message)}
		}
		return p, &FileError{File: file, Err: err}
	}
	_ = md
	for _, g := range []struct {
		table map[string]any
		dev   bool
	}{{doc.Packages, false}, {doc.DevPackages, true}} {
		for _, n := range sortedKeys(g.table) {
			version, _ := g.table[n].(string)
			p.deps = append(p.deps, dep{name: NormalizeName(n), version: version, dev: g.dev,
				at: Evidence{What: NormalizeName(n) + " in Pipfile", File: file, Line: findKeyLine(b, n)}})
		}
	}
	if doc.Requires.PythonVersion != "" {
		p.version = Evidence{What: doc.Requires.PythonVersion, File: file, Line: findKeyLine(b, "python_version")}
	}
	return p, nil
}

// ParseSetupCfg reads setuptools' setup.cfg (INI): install_requires,
// extras_require, python_requires and a [tool:pytest] section.
func ParseSetupCfg(file string, b []byte) (pyProject, error) {
	var p pyProject
	cfg, err := ini.LoadSources(ini.LoadOptions{AllowPythonMultilineValues: true, SpaceBeforeInlineComment: true}, b)
	if err != nil {
		return p, &FileError{File: file, Err: err}
	}
	addLines := func(value string, dev bool) {
		for _, l := range strings.Split(value, "\n") {
			if r, ok := parseRequirement(l); ok {
				p.deps = append(p.deps, dep{name: r.Name, version: r.Spec, dev: dev,
					at: Evidence{What: r.Name + " in setup.cfg", File: file, Line: findLine(b, strings.TrimSpace(l))}})
			}
		}
	}
	if sec, err := cfg.GetSection("options"); err == nil {
		addLines(sec.Key("install_requires").String(), false)
		if v := sec.Key("python_requires").String(); v != "" {
			p.version = Evidence{What: v, File: file, Line: findKeyLine(b, "python_requires")}
		}
	}
	if sec, err := cfg.GetSection("options.extras_require"); err == nil {
		for _, k := range sec.Keys() {
			addLines(k.String(), devGroup(k.Name()))
		}
	}
	if cfg.HasSection("tool:pytest") {
		p.pytestCfg = Evidence{What: "[tool:pytest]", File: file, Line: findLine(b, "[tool:pytest]")}
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// findKeyLine is the line where key is assigned (key = ..., "key" = ...,
// key: ...), 0 when not found.
func findKeyLine(b []byte, key string) int {
	re := regexp.MustCompile(`(?m)^\s*["']?` + regexp.QuoteMeta(key) + `["']?\s*[=:]`)
	if loc := re.FindIndex(b); loc != nil {
		return lineOf(b, loc[0])
	}
	return 0
}

// python reads a Python service's project files and code.
func (c *svc) python() error {
	s, t := c.s, c.d.t
	var pytestCfg Evidence
	for _, f := range t.files {
		dir, name := path.Dir(f.path), path.Base(f.path)
		reqDir := dir == s.Dir || dir == join(s.Dir, "requirements")
		if !reqDir {
			continue
		}
		b, err := t.read(f.path)
		if err != nil {
			return &FileError{File: f.path, Err: err}
		}
		var p pyProject
		switch {
		case strings.HasSuffix(name, ".txt") && (strings.HasPrefix(name, "requirements") || dir != s.Dir):
			dev := devRequirementsFile(strings.TrimPrefix(f.path, s.Dir))
			for _, r := range ParseRequirements(b) {
				p.deps = append(p.deps, dep{name: r.Name, version: r.Spec, dev: dev,
					at: Evidence{What: r.Name + " in " + name, File: f.path, Line: r.Line}})
			}
		case dir != s.Dir:
			continue
		case name == "pyproject.toml":
			p, err = ParsePyproject(f.path, b)
		case name == "Pipfile":
			p, err = ParsePipfile(f.path, b)
		case name == "setup.cfg":
			p, err = ParseSetupCfg(f.path, b)
		case name == "pytest.ini" || name == "conftest.py":
			p.pytestCfg = Evidence{What: name, File: f.path}
		case name == "tox.ini" && strings.Contains(string(b), "[pytest]"):
			p.pytestCfg = Evidence{What: "[pytest] in tox.ini", File: f.path, Line: findLine(b, "[pytest]")}
		case name == ".python-version" || name == "runtime.txt":
			v := strings.TrimPrefix(strings.TrimSpace(string(b)), "python-")
			if s.LanguageVersion == "" && v != "" {
				s.LanguageVersion = v
				c.note("python "+v, f.path, 1)
			}
		case name == "poetry.lock" || name == "Pipfile.lock" || name == "uv.lock" || name == "pdm.lock":
			if s.Lockfile == "" {
				s.Lockfile = f.path
				c.note("lock file", f.path, 0)
			}
		}
		if err != nil {
			return err
		}
		c.deps = append(c.deps, p.deps...)
		if p.version.What != "" && s.LanguageVersion == "" {
			s.LanguageVersion = p.version.What
			c.note("python "+p.version.What, p.version.File, p.version.Line)
		}
		if pytestCfg.File == "" && p.pytestCfg.File != "" {
			pytestCfg = p.pytestCfg
		}
	}

	// The code: environment reads, and the facts found by scanning it.
	var pyFiles []string
	for _, f := range c.files {
		if strings.HasSuffix(f.path, ".py") {
			pyFiles = append(pyFiles, f.path)
		}
	}
	for _, p := range pyFiles {
		if strings.Contains(p, "/migrations/") || strings.HasPrefix(p, "migrations/") {
			continue // generated by the migration tool
		}
		b, err := t.read(p)
		if err != nil {
			continue
		}
		c.scanEnv(p, b, pyEnv)
	}

	c.pyFramework(pyFiles)
	entry := c.pyEntry(pyFiles)
	c.pyCode(entry)
	c.pyServerPort(entry)
	c.pyDependencies(pyFiles)
	metricsRoute := c.routes()
	c.pyTests(pytestCfg)
	c.pyMigrations(entry)
	for _, m := range []struct {
		names  []string
		preset MetricsPreset
	}{
		{[]string{"prometheus-flask-exporter"}, FlaskExporter},
		{[]string{"prometheus-fastapi-instrumentator"}, FastAPIExporter},
		{[]string{"prometheus-client"}, PythonClient},
	} {
		if d, ok := c.findDep(m.names...); ok && !d.dev {
			c.setMetrics(m.preset, d.at, metricsRoute, "/metrics")
			break
		}
	}
	return nil
}

var pyFrameworks = []struct {
	name string
	fw   Framework
}{{"django", Django}, {"fastapi", FastAPI}, {"flask", Flask}}

var pyImport = regexp.MustCompile(`(?m)^\s*(?:from|import)\s+(django|fastapi|flask)\b`)

func (c *svc) pyFramework(pyFiles []string) {
	for _, fw := range pyFrameworks {
		if d, ok := c.findDep(fw.name); ok && !d.dev {
			c.s.Framework = fw.fw
			c.note("framework "+string(fw.fw), d.at.File, d.at.Line)
			return
		}
	}
	// No project file names one: the imports do.
	for _, p := range pyFiles {
		if isTest(p) {
			continue
		}
		b, _ := c.d.t.read(p)
		if m := pyImport.FindSubmatchIndex(b); m != nil {
			fw := Framework(b[m[2]:m[3]])
			c.s.Framework = fw
			c.note("framework "+string(fw)+" (imported)", p, lineOf(b, m[0]))
			return
		}
	}
}

// pyEntry is the WSGI/ASGI target and where it was found.
type pyEntryPoint struct {
	target string // "module:attr"
	file   string // the module's file
	at     Evidence
	argv   []string // the serving command it was found in, if any
}

var (
	pyTargetLiteral = regexp.MustCompile(`["']([A-Za-z_][\w.]*:[A-Za-z_]\w*(?:\(\))?)["']`)
	pyAppAssign     = regexp.MustCompile(`(?m)^(app|application)\s*(?::\s*\w+\s*)?=\s*(Flask|FastAPI|Starlette|get_wsgi_application|get_asgi_application|create_app)\(`)
	pyFactory       = regexp.MustCompile(`(?m)^def (create_app|make_app)\(`)
	djangoWSGI      = regexp.MustCompile(`(?m)^WSGI_APPLICATION\s*=\s*["']([\w.]+)\.(\w+)["']`)
)

// pyModuleFile resolves a module to its file under the service's import
// roots (its directory and src/).
func (c *svc) pyModuleFile(module string) string {
	rel := strings.ReplaceAll(module, ".", "/")
	for _, root := range []string{c.s.Dir, join(c.s.Dir, "src")} {
		for _, p := range []string{join(root, rel+".py"), join(root, rel, "__init__.py")} {
			if c.d.t.has(p) {
				return p
			}
		}
	}
	return ""
}

// resolveTarget checks that a "module:attr" names a module of the service.
func (c *svc) resolveTarget(target string) (string, bool) {
	module, _, _ := strings.Cut(target, ":")
	f := c.pyModuleFile(module)
	return f, f != ""
}

func (c *svc) pyEntry(pyFiles []string) pyEntryPoint {
	s, t := c.s, c.d.t
	set := func(e pyEntryPoint) pyEntryPoint {
		s.Entry = e.target
		c.note("entry "+e.target+" ("+e.at.What+")", e.at.File, e.at.Line)
		return e
	}
	// A serving command: Procfile, then the Dockerfile.
	if p := join(s.Dir, "Procfile"); t.has(p) {
		b, _ := t.read(p)
		for i, l := range strings.Split(string(b), "\n") {
			kind, cmd, ok := strings.Cut(l, ":")
			if !ok || strings.TrimSpace(kind) != "web" {
				continue
			}
			if e, ok := c.targetInArgv(splitCommand(cmd)); ok {
				e.at = Evidence{What: "Procfile", File: p, Line: i + 1}
				return set(e)
			}
		}
	}
	if c.docker != nil {
		if e, ok := c.targetInArgv(c.docker.cmd); ok {
			e.at = Evidence{What: "Dockerfile CMD", File: c.docker.file, Line: c.docker.cmdLine}
			return set(e)
		}
	}
	// gunicorn's config file.
	for _, name := range []string{"gunicorn.conf.py", "gunicorn_conf.py"} {
		p := join(s.Dir, name)
		if !t.has(p) {
			continue
		}
		b, _ := t.read(p)
		if m := regexp.MustCompile(`(?m)^wsgi_app\s*=\s*["']([^"']+)["']`).FindSubmatchIndex(b); m != nil {
			target := string(b[m[2]:m[3]])
			if f, ok := c.resolveTarget(target); ok {
				return set(pyEntryPoint{target: target, file: f, at: Evidence{What: "wsgi_app", File: p, Line: lineOf(b, m[0])}})
			}
		}
	}
	// A module:attr literal beside gunicorn or uvicorn in the code (an app
	// that execs its server), then Django's setting, then the app object.
	for _, p := range pyFiles {
		if isTest(p) {
			continue
		}
		b, _ := t.read(p)
		for _, m := range pyTargetLiteral.FindAllSubmatchIndex(b, -1) {
			lineStart := strings.LastIndexByte(string(b[:m[0]]), '\n') + 1
			lineEnd := m[1] + strings.IndexByte(string(b[m[1]:])+"\n", '\n')
			line := string(b[lineStart:lineEnd])
			if !strings.Contains(line, "gunicorn") && !strings.Contains(line, "uvicorn") {
				continue
			}
			target := string(b[m[2]:m[3]])
			if f, ok := c.resolveTarget(target); ok {
				return set(pyEntryPoint{target: target, file: f, at: Evidence{What: "serving command in the code", File: p, Line: lineOf(b, m[0])}})
			}
		}
	}
	for _, p := range pyFiles {
		b, _ := t.read(p)
		if m := djangoWSGI.FindSubmatchIndex(b); m != nil {
			target := string(b[m[2]:m[3]]) + ":" + string(b[m[4]:m[5]])
			if f, ok := c.resolveTarget(target); ok {
				return set(pyEntryPoint{target: target, file: f, at: Evidence{What: "WSGI_APPLICATION", File: p, Line: lineOf(b, m[0])}})
			}
		}
	}
	for _, re := range []*regexp.Regexp{pyAppAssign, pyFactory} {
		for _, p := range pyFiles {
			if isTest(p) || strings.Contains(p, "/migrations/") {
				continue
			}
			b, _ := t.read(p)
			m := re.FindSubmatchIndex(b)
			if m == nil {
				continue
			}
			module := c.pyModuleName(p)
			if module == "" {
				continue
			}
			attr := string(b[m[2]:m[3]])
			if re == pyFactory {
				attr += "()"
			}
			return set(pyEntryPoint{target: module + ":" + attr, file: p, at: Evidence{What: "the app object", File: p, Line: lineOf(b, m[0])}})
		}
	}
	// No web app: a worker started as a script at the top.
	if s.Framework == "" {
		for _, f := range t.byDir[s.Dir] {
			name := path.Base(f.path)
			if !strings.HasSuffix(name, ".py") || isTest(f.path) || name == "setup.py" || name == "manage.py" || strings.HasPrefix(name, "gunicorn") {
				continue
			}
			b, _ := t.read(f.path)
			if m := mainGuard.FindIndex(b); m != nil {
				s.Entry = name
				c.note("entry "+name+" (a script)", f.path, lineOf(b, m[0]))
				return pyEntryPoint{file: f.path}
			}
		}
	}
	return pyEntryPoint{}
}

var mainGuard = regexp.MustCompile(`(?m)^if __name__ == ["']__main__["']:`)

// pyModuleName is the importable name of the file p, "" when it is not
// under an import root.
func (c *svc) pyModuleName(p string) string {
	for _, root := range []string{join(c.s.Dir, "src"), c.s.Dir} {
		if !within(p, root) || p == root {
			continue
		}
		rel := strings.TrimSuffix(p, ".py")
		if root != "." {
			rel = strings.TrimPrefix(rel, root+"/")
		}
		rel = strings.TrimSuffix(rel, "/__init__")
		return strings.ReplaceAll(rel, "/", ".")
	}
	return ""
}

func splitCommand(s string) []string {
	return strings.Fields(strings.TrimSpace(s))
}

// targetInArgv finds the module:attr a gunicorn or uvicorn command serves.
func (c *svc) targetInArgv(argv []string) (pyEntryPoint, bool) {
	served := false
	for _, a := range argv {
		if strings.HasSuffix(a, "gunicorn") || strings.HasSuffix(a, "uvicorn") {
			served = true
			continue
		}
		if served && !strings.HasPrefix(a, "-") && strings.Contains(a, ":") && !strings.HasPrefix(a, "python:") {
			if f, ok := c.resolveTarget(a); ok {
				return pyEntryPoint{target: a, file: f, argv: argv}, true
			}
		}
	}
	return pyEntryPoint{}, false
}

// pyCode sets where the code lives: src/ in a src layout, else the top
// package the entry is in; the service's directory for Django (several
// apps) and for a module at the top.
func (c *svc) pyCode(e pyEntryPoint) {
	s := c.s
	srcDir := join(s.Dir, "src")
	switch {
	case e.file != "" && within(e.file, srcDir):
		s.Code = srcDir
	case s.Framework == Django || e.file == "":
		if e.file == "" && c.d.t.dirs[srcDir] {
			s.Code = srcDir
		}
	default:
		rel := strings.TrimPrefix(e.file, s.Dir+"/")
		if s.Dir == "." {
			rel = e.file
		}
		if top, _, nested := strings.Cut(rel, "/"); nested {
			s.Code = join(s.Dir, top)
		}
	}
	c.note("code in "+s.Code, "", 0)
}

var bindLiteral = regexp.MustCompile(`(?:--bind[= ]|-b |--port[= ]|bind\s*=\s*["'])[^"'\s]*?:?(\d{2,5})\b`)

func (c *svc) pyServerPort(e pyEntryPoint) {
	s, t := c.s, c.d.t
	if d, ok := c.findDep("gunicorn"); ok && !d.dev {
		s.Server = Gunicorn
		c.note("server gunicorn", d.at.File, d.at.Line)
	} else if d, ok := c.findDep("uvicorn"); ok && !d.dev {
		s.Server = Uvicorn
		c.note("server uvicorn", d.at.File, d.at.Line)
	} else if t.has(join(s.Dir, "gunicorn.conf.py")) {
		s.Server = Gunicorn
		c.note("server gunicorn", join(s.Dir, "gunicorn.conf.py"), 0)
	}
	fallback := Evidence{}
	port := 0
	// A literal bind in the serving command or gunicorn's config.
	if len(e.argv) > 0 {
		if m := bindLiteral.FindStringSubmatch(strings.Join(e.argv, " ")); m != nil {
			fmt.Sscan(m[1], &port)
			fallback = e.at
			fallback.What = "bound in the serving command"
		}
	}
	if port == 0 && t.has(join(s.Dir, "gunicorn.conf.py")) {
		b, _ := t.read(join(s.Dir, "gunicorn.conf.py"))
		if m := bindLiteral.FindSubmatchIndex(b); m != nil {
			fmt.Sscan(string(b[m[2]:m[3]]), &port)
			fallback = Evidence{What: "bind in gunicorn.conf.py", File: join(s.Dir, "gunicorn.conf.py"), Line: lineOf(b, m[0])}
		}
	}
	if port == 0 {
		switch {
		case s.Server == Gunicorn || s.Server == Uvicorn:
			port = 8000
			fallback = Evidence{What: string(s.Server) + "'s default"}
		case s.Framework == Flask:
			port = 5000
			fallback = Evidence{What: "flask's default"}
		}
	}
	c.setPort(port, fallback)
}

var djangoEngine = regexp.MustCompile(`["']django\.db\.backends\.(postgresql|postgresql_psycopg2|mysql)["']`)

var pyBacking = []struct {
	names []string
	kind  DependencyKind
}{
	{[]string{"psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "asyncpg", "pg8000", "psycopg-pool"}, PostgreSQL},
	{[]string{"mysqlclient", "pymysql", "mysql-connector-python", "aiomysql", "asyncmy"}, MySQL},
	{[]string{"redis", "aioredis", "rq", "hiredis"}, Redis},
}

func (c *svc) pyDependencies(pyFiles []string) {
	for _, p := range pyFiles {
		b, _ := c.d.t.read(p)
		if m := djangoEngine.FindSubmatchIndex(b); m != nil {
			kind := PostgreSQL
			if string(b[m[2]:m[3]]) == "mysql" {
				kind = MySQL
			}
			c.addDependency(kind, Evidence{What: "Django's database ENGINE", File: p, Line: lineOf(b, m[0])})
		}
	}
	for _, bk := range pyBacking {
		if d, ok := c.findDep(bk.names...); ok {
			c.addDependency(bk.kind, d.at)
		}
	}
}

func (c *svc) pyTests(pytestCfg Evidence) {
	s := c.s
	if d, ok := c.findDep("pytest"); ok {
		s.TestCommand = []string{"python3", "-m", "pytest"}
		c.note("tests: python3 -m pytest (pytest)", d.at.File, d.at.Line)
		return
	}
	if pytestCfg.File != "" {
		s.TestCommand = []string{"python3", "-m", "pytest"}
		c.note("tests: python3 -m pytest ("+pytestCfg.What+")", pytestCfg.File, pytestCfg.Line)
		return
	}
	if s.Framework == Django && c.d.t.has(join(s.Dir, "manage.py")) {
		for _, f := range c.files {
			if isTest(f.path) && strings.HasSuffix(f.path, ".py") {
				s.TestCommand = []string{"python3", "manage.py", "test"}
				c.note("tests: python3 manage.py test", f.path, 0)
				return
			}
		}
	}
	for _, f := range c.files {
		if strings.HasSuffix(f.path, ".py") && strings.HasPrefix(path.Base(f.path), "test") && isTest(f.path) {
			s.TestCommand = []string{"python3", "-m", "unittest", "discover"}
			c.note("tests: python3 -m unittest discover", f.path, 0)
			return
		}
	}
}

var migrateCommand = regexp.MustCompile(`(?:add_parser|command)\(\s*["']migrate["']|(?m)^def migrate\(`)

func (c *svc) pyMigrations(e pyEntryPoint) {
	s, t := c.s, c.d.t
	if s.Framework == Django && t.has(join(s.Dir, "manage.py")) {
		for _, f := range c.files {
			if path.Base(path.Dir(f.path)) == "migrations" && regexp.MustCompile(`^\d{4}_.*\.py$`).MatchString(path.Base(f.path)) {
				s.Migrations = Migrations{Tool: DjangoMigrate, Command: []string{"python3", "manage.py", "migrate", "--noinput"},
					At: Evidence{What: "Django migrations", File: f.path}}
				c.note("migrations django", f.path, 0)
				return
			}
		}
	}
	if d, ok := c.findDep("flask-migrate"); ok {
		app := ""
		if e.target != "" {
			module, _, _ := strings.Cut(e.target, ":")
			app, _, _ = strings.Cut(module, ".")
		}
		cmd := []string{"flask", "db", "upgrade"}
		if app != "" {
			cmd = []string{"flask", "--app", app, "db", "upgrade"}
		}
		s.Migrations = Migrations{Tool: FlaskMigrate, Command: cmd, At: d.at}
		c.note("migrations flask-migrate", d.at.File, d.at.Line)
		return
	}
	for _, p := range []string{join(s.Dir, "alembic.ini")} {
		if t.has(p) {
			s.Migrations = Migrations{Tool: Alembic, Command: []string{"alembic", "upgrade", "head"}, At: Evidence{What: "alembic.ini", File: p}}
			c.note("migrations alembic", p, 0)
			return
		}
	}
	if d, ok := c.findDep("alembic"); ok && !d.dev {
		s.Migrations = Migrations{Tool: Alembic, Command: []string{"alembic", "upgrade", "head"}, At: d.at}
		c.note("migrations alembic", d.at.File, d.at.Line)
		return
	}
	// The app's own command: a "migrate" subcommand of its package's
	// __main__ (python -m pkg migrate).
	for _, f := range c.files {
		if path.Base(f.path) != "__main__.py" || isTest(f.path) {
			continue
		}
		b, _ := t.read(f.path)
		if m := migrateCommand.FindIndex(b); m != nil {
			pkg := c.pyModuleName(path.Dir(f.path) + "/__init__.py")
			if pkg == "" {
				continue
			}
			s.Migrations = Migrations{Tool: Custom, Command: []string{"python3", "-m", pkg, "migrate"},
				At: Evidence{What: "a migrate command", File: f.path, Line: lineOf(b, m[0])}}
			c.note("migrations: python3 -m "+pkg+" migrate", f.path, lineOf(b, m[0]))
			return
		}
	}
}
