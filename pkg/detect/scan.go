package detect

import (
	"regexp"
	"strconv"
	"strings"
)

// The scans below read Python, JavaScript and Java sources with regular
// expressions, not parsers: no Go library parses Python or JavaScript, and
// what detection wants (a call with a literal variable name, a literal route)
// sits on one line in the code people write. A miss costs a fact the user can
// give as a flag; a false find shows in --explain with its file and line.

// pyEnv matches reads of the environment in Python: os.environ["X"],
// os.environ.get("X", default), os.getenv("X", default), environ.get(...),
// and a mapping named env read the same way or passed with a name to a
// helper (env.get("X"), env["X"], _int(env, "X", ...)).
var pyEnv = regexp.MustCompile(`(?:\b(?:os\.)?environ(?:\.get\(|\[)|\bos\.getenv\(|\benv\s*(?:\.get\(|\[)|\(\s*(?:os\.environ|env)\s*,\s*)\s*["']([A-Z][A-Z0-9_]*)["']\s*(\]\s*=[^=])?(?:\s*,\s*(?:["']([^"'\n]*)["']|(\d+)))?`)

// jsEnv matches process.env.X and process.env["X"], with a literal default
// after || or ??.
var jsEnv = regexp.MustCompile(`\bprocess\.env(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\])(?:\s*(?:\|\||\?\?)\s*(?:["'` + "`" + `]([^"'` + "`" + `\n]*)["'` + "`" + `]|(\d+)))?`)

// javaEnv matches System.getenv("X") in Java and Kotlin.
var javaEnv = regexp.MustCompile(`\bSystem\.getenv\(\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*\)`)

// springPlaceholder matches ${NAME} and ${NAME:default} in Spring's
// configuration files, where an upper-case NAME is an environment variable.
var springPlaceholder = regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)(?::([^}]*))?\}`)

// addEnv records a variable read at file:line, the first place it is read
// (files come sorted), keeping a default found at a later read.
func (c *svc) addEnv(name, def, file string, line int) {
	e, ok := c.env[name]
	if !ok {
		e = EnvVar{Name: name, At: Evidence{What: "reads " + name, File: file, Line: line}}
	}
	if e.Default == "" && def != "" {
		e.Default = def
	}
	c.env[name] = e
}

func (c *svc) scanEnv(file string, b []byte, re *regexp.Regexp) {
	for _, m := range re.FindAllSubmatchIndex(b, -1) {
		group := func(i int) string {
			if m[2*i] < 0 {
				return ""
			}
			return string(b[m[2*i]:m[2*i+1]])
		}
		switch re {
		case pyEnv:
			if group(2) != "" {
				continue // os.environ["X"] = ...: the app sets it
			}
			def := group(3)
			if def == "" {
				def = group(4)
			}
			c.addEnv(group(1), def, file, lineOf(b, m[0]))
		case jsEnv:
			name := group(1) + group(2)
			if name == "NODE_ENV" || strings.ToUpper(name) != name {
				continue
			}
			def := group(3)
			if def == "" {
				def = group(4)
			}
			c.addEnv(name, def, file, lineOf(b, m[0]))
		case javaEnv:
			c.addEnv(group(1), "", file, lineOf(b, m[0]))
		case springPlaceholder:
			c.addEnv(group(1), group(2), file, lineOf(b, m[0]))
		}
	}
}

// healthNames are the paths apps answer health checks on, best first: a
// readiness check that reaches the dependencies is what a probe wants, but a
// name alone does not say which checks more, so the common one comes first.
var healthNames = []string{"healthz", "health", "readyz", "livez", "ready", "healthcheck", "status"}

// routeLiteral matches a quoted path literal as routes are declared:
// "/healthz", "GET /healthz" (Go 1.22 patterns), or Django's "healthz".
var routeLiteral = regexp.MustCompile(`["'` + "`" + `](?:(?:GET|HEAD) )?/?([a-z_/-]*[a-z])/?["'` + "`" + `]`)

type routeHit struct {
	path string
	at   Evidence
}

// scanRoutes finds the health and metrics routes in one source file.
func scanRoutes(file string, b []byte, health map[string]routeHit, metrics *routeHit) {
	for _, m := range routeLiteral.FindAllSubmatchIndex(b, -1) {
		name := string(b[m[2]:m[3]])
		line := lineOf(b, m[0])
		if name == "metrics" && metrics.path == "" {
			*metrics = routeHit{path: "/metrics", at: Evidence{File: file, Line: line}}
			continue
		}
		for _, h := range healthNames {
			if name == h {
				if _, seen := health[h]; !seen {
					health[h] = routeHit{path: "/" + h, at: Evidence{File: file, Line: line}}
				}
			}
		}
	}
}

// routes scans the service's non-test code for health and metrics routes
// and sets HealthPath; it returns the metrics route, if any.
func (c *svc) routes() routeHit {
	health := map[string]routeHit{}
	var metrics routeHit
	for _, f := range c.files {
		if !c.isCode(f.path) || isTest(f.path) {
			continue
		}
		b, err := c.d.t.read(f.path)
		if err != nil {
			continue
		}
		scanRoutes(f.path, b, health, &metrics)
	}
	if c.s.HealthPath == "" {
		for _, h := range healthNames {
			if hit, ok := health[h]; ok {
				c.s.HealthPath = hit.path
				c.note("health path "+hit.path, hit.at.File, hit.at.Line)
				break
			}
		}
	}
	return metrics
}

// setPort sets the port from the strongest evidence: the Dockerfile's
// EXPOSE, then the default of the PORT variable the code reads, then what
// the caller found (a bind address, the server's default).
func (c *svc) setPort(fallback int, why Evidence) {
	if c.docker != nil && len(c.docker.expose) > 0 {
		c.s.Port = c.docker.expose[0]
		c.note("port "+strconv.Itoa(c.s.Port)+" (EXPOSE)", c.docker.file, c.docker.exposeLine)
		return
	}
	if e, ok := c.env["PORT"]; ok {
		if p, err := strconv.Atoi(strings.TrimPrefix(e.Default, ":")); err == nil && p > 0 && p < 65536 {
			c.s.Port = p
			c.note("port "+strconv.Itoa(p)+" (the default of PORT)", e.At.File, e.At.Line)
			return
		}
	}
	if fallback > 0 {
		c.s.Port = fallback
		c.note("port "+strconv.Itoa(fallback)+" ("+why.What+")", why.File, why.Line)
	}
}

// metricsPath finds the literal metrics route, or says the preset's default.
func (c *svc) setMetrics(preset MetricsPreset, because Evidence, route routeHit, def string) {
	c.s.Metrics = Metrics{Preset: preset, Path: def, At: because}
	c.note("metrics "+string(preset)+" ("+because.What+")", because.File, because.Line)
	if route.path != "" && def == "/metrics" {
		c.s.Metrics.Path = route.path
		c.note("metrics path "+route.path, route.at.File, route.at.Line)
	}
}
