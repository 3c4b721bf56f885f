package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// PackageJSON is what detection reads of a package.json.
type PackageJSON struct {
	Name            string            `json:"name"`
	Main            string            `json:"main"`
	Scripts         map[string]string `json:"scripts"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Engines         map[string]string `json:"engines"`
}

// PackageLock is what detection reads of a package-lock.json.
type PackageLock struct {
	LockfileVersion int                       `json:"lockfileVersion"`
	Packages        map[string]map[string]any `json:"packages"`
}

// ParsePackageJSON reads a package.json; a syntax error names its line.
func ParsePackageJSON(file string, b []byte) (PackageJSON, error) {
	var p PackageJSON
	return p, jsonError(file, b, json.Unmarshal(b, &p))
}

// ParsePackageLock reads a package-lock.json.
func ParsePackageLock(file string, b []byte) (PackageLock, error) {
	var p PackageLock
	return p, jsonError(file, b, json.Unmarshal(b, &p))
}

func jsonError(file string, b []byte, err error) error {
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &FileError{File: file, Line: lineOf(b, int(min(se.Offset, int64(len(b))))), Err: err}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &FileError{File: file, Line: lineOf(b, int(min(te.Offset, int64(len(b))))), Err: err}
	}
	return &FileError{File: file, Err: err}
}

var nodeFrameworks = []struct {
	name string
	fw   Framework
}{{"next", Next}, {"fastify", Fastify}, {"express", Express}}

var nodeBacking = []struct {
	names []string
	kind  DependencyKind
}{
	{[]string{"pg", "postgres", "pg-promise", "@neondatabase/serverless"}, PostgreSQL},
	{[]string{"mysql2", "mysql"}, MySQL},
	{[]string{"redis", "ioredis", "@redis/client"}, Redis},
}

// npmInitTest is the test script `npm init` writes: no tests.
const npmInitTest = `echo "Error: no test specified" && exit 1`

var listenLiteral = regexp.MustCompile(`\.listen\(\s*(\d{2,5})\b`)

// node reads a Node service: package.json and its lock file with
// encoding/json, the code with the scans in scan.go.
func (c *svc) node() error {
	s, t := c.s, c.d.t
	pkgPath := join(s.Dir, "package.json")
	var pkg PackageJSON
	var pkgBytes []byte
	if t.has(pkgPath) {
		b, err := t.read(pkgPath)
		if err != nil {
			return &FileError{File: pkgPath, Err: err}
		}
		if pkg, err = ParsePackageJSON(pkgPath, b); err != nil {
			return err
		}
		pkgBytes = b
		for _, g := range []struct {
			m   map[string]string
			dev bool
		}{{pkg.Dependencies, false}, {pkg.DevDependencies, true}} {
			for _, n := range sortedKeys(g.m) {
				c.deps = append(c.deps, dep{name: n, version: g.m[n], dev: g.dev,
					at: Evidence{What: n + " in package.json", File: pkgPath, Line: findLine(b, strconv.Quote(n)+":")}})
			}
		}
		if v := pkg.Engines["node"]; v != "" {
			s.LanguageVersion = v
			c.note("node "+v, pkgPath, findLine(b, `"node":`))
		}
	}
	for _, lock := range []string{"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml"} {
		p := join(s.Dir, lock)
		if !t.has(p) {
			continue
		}
		if strings.HasSuffix(lock, ".json") {
			b, err := t.read(p)
			if err != nil {
				return &FileError{File: p, Err: err}
			}
			pl, err := ParsePackageLock(p, b)
			if err != nil {
				return err
			}
			c.note(fmt.Sprintf("lock file (lockfileVersion %d)", pl.LockfileVersion), p, 0)
		} else {
			c.note("lock file", p, 0)
		}
		s.Lockfile = p
		break
	}

	for _, fw := range nodeFrameworks {
		if d, ok := c.findDep(fw.name); ok && !d.dev {
			s.Framework = fw.fw
			c.note("framework "+string(fw.fw), d.at.File, d.at.Line)
			break
		}
	}
	for _, bk := range nodeBacking {
		if d, ok := c.findDep(bk.names...); ok && !d.dev {
			c.addDependency(bk.kind, d.at)
		}
	}

	port := 0
	var portAt Evidence
	for _, f := range c.files {
		if !c.isCode(f.path) {
			continue
		}
		b, err := t.read(f.path)
		if err != nil {
			continue
		}
		c.scanEnv(f.path, b, jsEnv)
		if isTest(f.path) || port != 0 {
			continue
		}
		if m := listenLiteral.FindSubmatchIndex(b); m != nil {
			port, _ = strconv.Atoi(string(b[m[2]:m[3]]))
			portAt = Evidence{What: "listen", File: f.path, Line: lineOf(b, m[0])}
		}
	}

	// The entry: the start script's file, else "main".
	start := pkg.Scripts["start"]
	switch {
	case s.Framework == Next:
		s.Entry = "next start"
		c.note("entry next start", pkgPath, findLine(pkgBytes, `"next":`))
	default:
		if f := strings.Fields(start); len(f) >= 2 && f[0] == "node" {
			s.Entry = f[len(f)-1]
			c.note("entry "+s.Entry+" (the start script)", pkgPath, findLine(pkgBytes, `"start":`))
		} else if pkg.Main != "" {
			s.Entry = pkg.Main
			c.note("entry "+s.Entry+" (main)", pkgPath, findLine(pkgBytes, `"main":`))
		} else if t.has(join(s.Dir, "server.js")) {
			s.Entry = "server.js"
			c.note("entry server.js", join(s.Dir, "server.js"), 0)
		}
	}
	if top, _, nested := strings.Cut(path.Clean(s.Entry), "/"); nested && s.Framework != Next {
		if c.d.t.dirs[join(s.Dir, top)] {
			s.Code = join(s.Dir, top)
		}
	}
	c.note("code in "+s.Code, "", 0)
	if port == 0 && s.Framework == Next {
		port, portAt = 3000, Evidence{What: "next's default"}
	}
	c.setPort(port, portAt)
	metricsRoute := c.routes()
	if test := pkg.Scripts["test"]; test != "" && test != npmInitTest {
		s.TestCommand = []string{"npm", "test"}
		c.note("tests: npm test ("+test+")", pkgPath, findLine(pkgBytes, `"test":`))
	}
	if d, ok := c.findDep("prom-client"); ok && !d.dev {
		c.setMetrics(PromClient, d.at, metricsRoute, "/metrics")
	}
	return nil
}
