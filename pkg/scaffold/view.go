package scaffold

import (
	"encoding/json"
	"fmt"
	"path"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/deploy-action/deploy-action/pkg/detect"
)

// UID is the numeric user the images run as and the manifests require.
const UID = 10001

// view is what the templates see.
type view struct {
	Name      string // DNS-1123 label
	Title     string // CamelCase, for alert names
	Kind      string // python-web, python-worker, go, node, java
	Dir       string // the service's directory: the build context
	DeployDir string // where the manifests go
	Image     string
	UID       int
	Port      int
	// HealthPath is "" when none is known: the probes are then TCP.
	HealthPath string

	// Graceful is how long the server drains in-flight requests after
	// SIGTERM; PreStop the seconds the pod keeps serving while endpoints
	// update; Grace the pod's terminationGracePeriodSeconds, longer than both.
	Graceful, PreStop, Grace int

	BuildImage, RuntimeImage string

	Python *python
	Go     *golang
	Node   *node
	Java   *java

	// Env are the variables of the ConfigMap (with a default) and of
	// secretKeyRefs (credentials and the database's settings).
	Config  []envVar
	Secrets []envVar
	// Postgres says the service uses PostgreSQL; DBPort its port.
	Postgres bool

	MigrateCommand []string

	WithKubernetes, WithMigrations, WithDatabase, WithMonitoring bool
	PostgresImage                                                string

	Metrics *metrics
	SLO     slo
	// Test shapes the series of the rules' unit tests.
	Test ruleTest
	// Dashboard is the Grafana dashboard's JSON.
	Dashboard string
}

// ruleTest: per scrape, 2 good requests a second for 4 hours, and from the
// second hour 1 failing request a second; 30 minutes of a failing pod.
type ruleTest struct {
	Good, Bad, Steps, Half, HalfLess, PodSteps int
}

type envVar struct {
	Name, Value, Secret string
}

type python struct {
	Server       string // gunicorn, uvicorn, or "" for a worker
	Entry        string // module:app, or the worker's module
	Requirements string // requirements.txt, or "" with pyproject.toml
	Hashes       bool
	Code         string // the code's directory relative to Dir ("." or "src")
	Worker       string // gunicorn worker class for ASGI apps
}

type golang struct {
	Sum     bool // go.sum exists
	Package string
}

type node struct {
	Lock  bool // package-lock.json exists
	Entry string
}

type java struct {
	Maven bool // else Gradle
}

// metrics is what the monitoring queries read, from the app's exporter.
type metrics struct {
	Preset   detect.MetricsPreset
	Path     string
	Requests string // counter of requests (with _total or _count)
	Duration string // histogram base name
	Status   string // label with the HTTP status
	Note     string // what the preset needs switched on
	Because  string
}

type slo struct {
	Objective        float64
	ErrorBudget      string // 1 - objective, as a ratio
	Window           string // e.g. 30d
	LatencyThreshold string // seconds, as the le label writes it
	Windows          []string
	Alerts           []burn
	ScrapeInterval   string
}

// burn is one multi-window alert condition: the error ratio over both windows
// above Factor times the error budget.
type burn struct {
	Long, Short string
	Factor      string
	Threshold   string
	Severity    string
}

func newView(repo detect.Repository, svc detect.Service, s settings) (*view, []Note, error) {
	var notes []Note
	add := func(p Part, format string, args ...any) {
		notes = append(notes, Note{Part: p, Text: fmt.Sprintf(format, args...)})
	}
	dir := path.Clean(filepathToSlash(svc.Dir))
	if dir == "" {
		dir = "."
	}
	name := svc.Name
	if name == "" {
		return nil, nil, fmt.Errorf("service in %s has no name", dir)
	}
	v := &view{
		Name:          name,
		Title:         title(name),
		Dir:           dir,
		Image:         s.image,
		UID:           UID,
		PostgresImage: s.postgresImage,
	}
	if v.Image == "" {
		v.Image = name
	}
	if len(repo.Services) > 1 || dir != "." {
		v.DeployDir = "deploy/" + name
	} else {
		v.DeployDir = "deploy"
	}

	lang := svc.Language
	if s.language != "" {
		lang = s.language
	}
	code := "."
	if svc.Code != "" && svc.Code != svc.Dir {
		code = relSlash(dir, filepathToSlash(svc.Code))
	}
	defaultPort := 8080
	switch lang {
	case detect.Python:
		p := &python{Code: code, Entry: svc.Entry}
		switch {
		case exists(repo.Root, dir, "requirements.txt"):
			p.Requirements = "requirements.txt"
			p.Hashes = contains(repo.Root, dir, "requirements.txt", "--hash=")
		case exists(repo.Root, dir, "pyproject.toml"):
		default:
			add(Dockerfile, "dockerfile: no requirements.txt or pyproject.toml in %s; the image installs no packages", dir)
		}
		web := svc.Server != "" || svc.Framework == detect.Flask || svc.Framework == detect.FastAPI || svc.Framework == detect.Django
		if web {
			v.Kind = "python-web"
			p.Server = string(svc.Server)
			if p.Server == "" {
				p.Server = string(detect.Gunicorn)
				if svc.Framework == detect.FastAPI {
					p.Server = string(detect.Uvicorn)
				}
			}
			if p.Requirements != "" && !contains(repo.Root, dir, p.Requirements, p.Server) {
				add(Dockerfile, "dockerfile: the image runs %s, which %s does not list: add it there", p.Server, p.Requirements)
			}
			if p.Server == string(detect.Gunicorn) && svc.Framework == detect.FastAPI {
				p.Worker = "uvicorn.workers.UvicornWorker"
			}
			if p.Entry == "" {
				p.Entry = "app:app"
				add(Dockerfile, "dockerfile: no WSGI/ASGI entry found; the image serves %q: set it in the Dockerfile's CMD", p.Entry)
			}
			defaultPort = 8000
		} else {
			v.Kind = "python-worker"
			if p.Entry == "" {
				p.Entry = "main"
				add(Dockerfile, "dockerfile: no entry found for the worker; the image runs python -m %s", p.Entry)
			}
			p.Entry = strings.TrimSuffix(strings.ReplaceAll(p.Entry, "/", "."), ".py")
			defaultPort = 0
		}
		v.Python = p
		v.BuildImage, v.RuntimeImage = "python:3.13-slim-trixie", "python:3.13-slim-trixie"
	case detect.Go:
		v.Kind = "go"
		pkg := svc.Entry
		if pkg == "" {
			pkg = "."
		}
		if !strings.HasPrefix(pkg, ".") {
			pkg = "./" + pkg
		}
		v.Go = &golang{Sum: exists(repo.Root, dir, "go.sum"), Package: pkg}
		v.BuildImage, v.RuntimeImage = "golang:1.26-trixie", "gcr.io/distroless/static-debian12:nonroot"
	case detect.Node:
		v.Kind = "node"
		entry := svc.Entry
		if entry == "" {
			entry = "index.js"
			add(Dockerfile, "dockerfile: no entry script found; the image runs node %s", entry)
		}
		v.Node = &node{Lock: exists(repo.Root, dir, "package-lock.json"), Entry: entry}
		if !v.Node.Lock {
			add(Dockerfile, "dockerfile: no package-lock.json: the image installs with npm install, not npm ci; commit a lock file for repeatable builds")
		}
		v.BuildImage, v.RuntimeImage = "node:24-trixie-slim", "node:24-trixie-slim"
		defaultPort = 3000
	case detect.Java:
		v.Kind = "java"
		v.Java = &java{Maven: exists(repo.Root, dir, "pom.xml")}
		if v.Java.Maven {
			v.BuildImage = "maven:3.9-eclipse-temurin-21"
		} else {
			v.BuildImage = "gradle:8-jdk21"
		}
		v.RuntimeImage = "eclipse-temurin:21-jre"
	case "":
		return nil, nil, &OptionError{Key: "language", Flag: "language", Problem: fmt.Sprintf("no language was detected in %s", dir),
			Fix: "set it to python, go, node or java"}
	default:
		return nil, nil, &OptionError{Key: "language", Flag: "language", Value: string(lang), Problem: "is not a language the generator knows",
			Fix: "set it to python, go, node or java"}
	}
	if b := s.baseImages["BUILD_IMAGE"]; b != "" {
		v.BuildImage = b
	}
	if r := s.baseImages["RUNTIME_IMAGE"]; r != "" {
		v.RuntimeImage = r
	}

	v.Port = svc.Port
	if s.port != 0 {
		v.Port = s.port
	}
	if v.Port == 0 {
		v.Port = defaultPort
		if v.Port != 0 {
			add(Kubernetes, "kubernetes: no port found; the app is expected on %d (set port to change it)", v.Port)
		}
	}
	v.HealthPath = svc.HealthPath
	if s.healthPath != "" {
		v.HealthPath = s.healthPath
	}
	if v.HealthPath == "" && v.Port > 0 {
		add(Kubernetes, "kubernetes: no health path found; the probes only open a TCP connection: add one (e.g. GET /healthz answering 200) and set healthPath")
	}
	// The server drains for Graceful seconds; the pod keeps serving PreStop
	// seconds first, while the endpoints drop it; then a margin.
	v.Graceful, v.PreStop = 25, 5
	v.Grace = v.PreStop + v.Graceful + 10

	v.MigrateCommand = svc.Migrations.Command
	dbVars := map[string]bool{}
	for _, d := range svc.Dependencies {
		if d.Kind == detect.PostgreSQL {
			v.Postgres = true
		}
		if d.Kind == detect.PostgreSQL || d.Kind == detect.MySQL || d.Kind == detect.Redis {
			for _, e := range d.Env {
				dbVars[e] = true
			}
		}
	}
	for _, e := range svc.Env {
		switch {
		case dbVars[e.Name]:
			v.Secrets = append(v.Secrets, envVar{Name: e.Name, Secret: name + "-db"})
		case e.Secret:
			v.Secrets = append(v.Secrets, envVar{Name: e.Name, Secret: name + "-secrets"})
		case e.Default != "":
			v.Config = append(v.Config, envVar{Name: e.Name, Value: e.Default})
		}
	}
	for _, d := range svc.Dependencies {
		for _, e := range d.Env {
			if !hasEnv(v.Secrets, e) {
				v.Secrets = append(v.Secrets, envVar{Name: e, Secret: name + "-db"})
			}
		}
	}
	if len(v.Secrets) > 0 {
		add(Kubernetes, "kubernetes: the pods read %s from Secrets that the manifests never hold; create them per environment, e.g. %s",
			envNames(v.Secrets), secretCommands(v.Secrets))
	}

	v.Metrics = presetFor(svc, name)
	switch {
	case v.Metrics != nil:
		add(Monitoring, "monitoring: metrics preset %s (%s): requests %s by label %q, latency %s_bucket%s",
			v.Metrics.Preset, v.Metrics.Because, v.Metrics.Requests, v.Metrics.Status, v.Metrics.Duration, v.Metrics.Note)
	case svc.Metrics.Preset != "":
		add(Monitoring, "monitoring: metrics preset %q is not one the generator knows; only the pod alerts and the saturation panels are generated", svc.Metrics.Preset)
	default:
		add(Monitoring, "monitoring: the app exports no metrics, so the SLO alerts and request panels are left out; to add them, %s, then generate again", howToAddMetrics(lang, svc.Framework))
	}
	v.SLO = newSLO(s)
	si := int(s.scrapeInterval / time.Second)
	steps := int(4 * time.Hour / s.scrapeInterval)
	v.Test = ruleTest{Good: 2 * si, Bad: si, Steps: steps, Half: steps / 2, HalfLess: steps/2 - 1, PodSteps: int(30 * time.Minute / s.scrapeInterval)}
	d, err := dashboard(v, s)
	if err != nil {
		return nil, nil, err
	}
	v.Dashboard = d
	return v, notes, nil
}

func hasEnv(vs []envVar, name string) bool {
	for _, v := range vs {
		if v.Name == name {
			return true
		}
	}
	return false
}

func envNames(vs []envVar) string {
	n := make([]string, len(vs))
	for i, v := range vs {
		n[i] = v.Name
	}
	return strings.Join(n, ", ")
}

// secretCommands shows how to create the Secrets without writing a value
// into the repository.
func secretCommands(vs []envVar) string {
	by := map[string][]string{}
	var order []string
	for _, v := range vs {
		if _, ok := by[v.Secret]; !ok {
			order = append(order, v.Secret)
		}
		by[v.Secret] = append(by[v.Secret], "--from-literal="+v.Name+"=...")
	}
	var cmds []string
	for _, s := range order {
		cmds = append(cmds, "kubectl create secret generic "+s+" "+strings.Join(by[s], " "))
	}
	return strings.Join(cmds, "; ")
}

func howToAddMetrics(lang detect.Language, fw detect.Framework) string {
	switch {
	case fw == detect.Flask:
		return "add prometheus-flask-exporter (PrometheusMetrics(app), or GunicornPrometheusMetrics under gunicorn)"
	case fw == detect.FastAPI:
		return "add prometheus-fastapi-instrumentator (Instrumentator().instrument(app).expose(app))"
	case fw == detect.Django:
		return "add django-prometheus (its middleware and urls)"
	case lang == detect.Python:
		return "add prometheus_client with a request counter and a latency histogram, served on /metrics"
	case lang == detect.Go:
		return "wrap the handlers with client_golang's promhttp.InstrumentHandlerCounter and InstrumentHandlerDuration (http_requests_total, http_request_duration_seconds) and serve promhttp.Handler() on /metrics"
	case lang == detect.Node:
		return "add prom-client with express-prom-bundle (http_request_duration_seconds) served on /metrics"
	case lang == detect.Java:
		return "add spring-boot-starter-actuator and micrometer-registry-prometheus, expose the prometheus endpoint and set management.metrics.distribution.percentiles-histogram.http.server.requests=true"
	}
	return "export a request counter and a latency histogram on /metrics"
}

// presetFor maps the detected exporter to the names its metrics have.
func presetFor(svc detect.Service, name string) *metrics {
	m := &metrics{Preset: svc.Metrics.Preset, Path: svc.Metrics.Path, Status: "status"}
	if m.Path == "" {
		m.Path = "/metrics"
	}
	switch svc.Metrics.Preset {
	case detect.FlaskExporter:
		m.Requests, m.Duration = "flask_http_request_total", "flask_http_request_duration_seconds"
	case detect.FastAPIExporter:
		// Statuses are grouped ("5xx") by default; status=~"5.." matches both forms.
		m.Requests, m.Duration = "http_requests_total", "http_request_duration_seconds"
	case detect.PromHTTP:
		m.Requests, m.Duration, m.Status = "http_requests_total", "http_request_duration_seconds", "code"
		m.Note = " (as promhttp.InstrumentHandlerCounter and InstrumentHandlerDuration name them)"
	case detect.Micrometer:
		m.Requests, m.Duration = "http_server_requests_seconds_count", "http_server_requests_seconds"
		m.Note = " (needs management.metrics.distribution.percentiles-histogram.http.server.requests=true)"
		if m.Path == "/metrics" && svc.Metrics.Path == "" {
			m.Path = "/actuator/prometheus"
		}
	case detect.PromClient:
		m.Requests, m.Duration, m.Status = "http_request_duration_seconds_count", "http_request_duration_seconds", "status_code"
		m.Note = " (as express-prom-bundle names them)"
	case detect.PythonClient:
		// The app's own metrics, named as the shop names them.
		prefix := strings.ReplaceAll(name, "-", "_") + "_http_"
		m.Requests, m.Duration = prefix+"requests_total", prefix+"request_duration_seconds"
	default:
		return nil
	}
	m.Because = "detected"
	if at := svc.Metrics.At; at.File != "" {
		loc := at.File
		if at.Line > 0 {
			loc += ":" + strconv.Itoa(at.Line)
		}
		m.Because = loc
		if at.What != "" {
			m.Because = at.What + ", " + loc
		}
	}
	return m
}

// The multi-window, multi-burn-rate alerts of Google's SRE workbook (chapter
// "Alerting on SLOs"), for any window: each pair alerts when this share of
// the whole window's error budget is spent within the long window.
var burns = []struct {
	long, short time.Duration
	budget      float64
	severity    string
}{
	{time.Hour, 5 * time.Minute, 0.02, "critical"},
	{6 * time.Hour, 30 * time.Minute, 0.05, "critical"},
	{24 * time.Hour, 2 * time.Hour, 0.10, "warning"},
	{72 * time.Hour, 6 * time.Hour, 0.10, "warning"},
}

func newSLO(s settings) slo {
	budget := 1 - s.objective/100
	out := slo{
		Objective:        s.objective,
		ErrorBudget:      num(budget),
		Window:           promDuration(s.window),
		LatencyThreshold: num(s.latency),
		ScrapeInterval:   promDuration(s.scrapeInterval),
	}
	seen := map[string]bool{}
	for _, b := range burns {
		factor := b.budget * float64(s.window) / float64(b.long)
		out.Alerts = append(out.Alerts, burn{
			Long: promDuration(b.long), Short: promDuration(b.short),
			Factor: num(factor), Threshold: num(factor * budget), Severity: b.severity,
		})
		for _, w := range []time.Duration{b.short, b.long} {
			if d := promDuration(w); !seen[d] {
				seen[d] = true
				out.Windows = append(out.Windows, d)
			}
		}
	}
	sortDurations(out.Windows)
	return out
}

// num writes a number as PromQL and people read it: 10 significant digits,
// which hides the float noise of 14.4 * 0.005.
func num(f float64) string { return strconv.FormatFloat(f, 'g', 10, 64) }

func promDuration(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return strconv.Itoa(int(d/time.Second)) + "s"
}

func sortDurations(ds []string) {
	val := func(s string) time.Duration { d, _ := parseDays(s); return d }
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && val(ds[j]) < val(ds[j-1]); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

func title(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' || r == '.' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func filepathToSlash(p string) string { return strings.ReplaceAll(p, `\`, "/") }

// relSlash is target relative to base, both slash paths under the root.
func relSlash(base, target string) string {
	if base == "." {
		return target
	}
	if r, ok := strings.CutPrefix(target, base+"/"); ok {
		return r
	}
	return target
}

var funcs = template.FuncMap{
	// json quotes a string (or a list) as JSON, which YAML and Dockerfile
	// exec forms read the same way.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"add": func(a, b int) int { return a + b },
	"mul": func(a, b int) int { return a * b },
	"indent": func(n int, s string) string {
		pad := strings.Repeat(" ", n)
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		for i, l := range lines {
			if l != "" {
				lines[i] = pad + l
			}
		}
		return strings.Join(lines, "\n")
	},
	"lower": strings.ToLower,
	"title": title,
	"list":  func(s ...string) []string { return s },
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	// prom writes Prometheus' own template syntax into a generated file.
	"prom": func(s string) string { return "{{ " + s + " }}" },
}
