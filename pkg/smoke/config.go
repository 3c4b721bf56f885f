package smoke

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/shlex"
	"go.yaml.in/yaml/v3"
)

// Defaults, in one place.
const (
	DefaultGracePeriod = 10 * time.Second
	DefaultTimeout     = 2 * time.Minute
	DefaultAlias       = "app"
)

// Service is a container the image needs while it runs (a database, a cache).
// It starts first, on the run's private network, under its name.
type Service struct {
	// Name is the service's host name on the network ("db").
	Name string
	// Image is the service's image; it is pulled when the engine lacks it.
	Image string
	// Env is the service's plain settings, never masked.
	Env map[string]string
	// Secrets is the service's secret environment: its values are masked in
	// everything the run reports.
	Secrets map[string]string
	// Command replaces the image's CMD when set.
	Command []string
	// Healthcheck replaces the image's HEALTHCHECK test when set (exec form,
	// e.g. ["pg_isready", "-U", "shop"]). A service is ready when healthy; one
	// with no health check is ready once it runs.
	Healthcheck []string
}

// Config is one smoke run.
type Config struct {
	// Services start before the image, each on the run's network.
	Services []Service
	// Env is the image's plain settings ("PORT=8000"), never masked, so that
	// ordinary values are not blanked all over the output.
	Env map[string]string
	// Secrets is the image's secret environment: its values are masked in
	// everything the run reports. A name may not be in both Env and Secrets.
	Secrets map[string]string
	// ReadyPath is the HTTP path that answers 2xx or 3xx once the image is
	// ready ("/readyz"). Without it, the image's HEALTHCHECK decides; without
	// either, the image is ready once it has run for a moment.
	ReadyPath string
	// ReadyPort is the container port ReadyPath is served on: "8000",
	// "8000/tcp", or "HOST:CONTAINER" to publish on a fixed loopback port.
	// Default: the port the image exposes, if it exposes one.
	ReadyPort string
	// TestCommand, when set, runs in a second container of the image once
	// the first is ready, with the same environment and network: the
	// services and the image (as Alias) are reachable by name. It must exit 0.
	TestCommand []string
	// GracePeriod is how long the image may take to exit after its stop
	// signal (SIGTERM unless the image says otherwise). Default 10 s.
	GracePeriod time.Duration
	// Timeout bounds each wait: for services, for readiness, for the test
	// command. Default 2 min.
	Timeout time.Duration
	// Alias is the image's host name on the network. Default "app".
	Alias string
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.-]{0,62})$`)

// validate checks the config and fills in defaults.
func (c Config) validate() (Config, error) {
	if c.GracePeriod == 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.GracePeriod < 0 {
		return c, fmt.Errorf(`input "grace-period": %s is negative; use a duration such as 10s`, c.GracePeriod)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf(`input "timeout": %s is negative; use a duration such as 2m`, c.Timeout)
	}
	if c.Alias == "" {
		c.Alias = DefaultAlias
	}
	if c.ReadyPath != "" && !strings.HasPrefix(c.ReadyPath, "/") {
		return c, fmt.Errorf(`input "ready-path": %q does not start with "/"; use a path such as /readyz`, c.ReadyPath)
	}
	if c.ReadyPort != "" {
		if _, _, err := parsePort(c.ReadyPort); err != nil {
			return c, err
		}
	}
	seen := map[string]bool{c.Alias: true}
	for i, s := range c.Services {
		switch {
		case s.Name == "":
			return c, fmt.Errorf(`input "services": service %d has no name; give each service the host name the image reaches it by, e.g. db`, i+1)
		case !nameRE.MatchString(s.Name):
			return c, fmt.Errorf(`input "services": service name %q is not a host name; use lower-case letters, digits, "-", "_" or "."`, s.Name)
		case seen[s.Name]:
			return c, fmt.Errorf(`input "services": the name %q is used twice (the image itself is %q); give each service its own name`, s.Name, c.Alias)
		case s.Image == "":
			return c, fmt.Errorf(`input "services": service %q has no image; set its image, e.g. image: postgres:17`, s.Name)
		}
		seen[s.Name] = true
		if err := checkEnv("services", "services", s.Env, s.Secrets); err != nil {
			return c, err
		}
	}
	return c, checkEnv("smoke-env", "smoke-secrets", c.Env, c.Secrets)
}

// checkEnv checks the names of plain and secret variables, and that none is
// in both (which value would win is not something to guess).
func checkEnv(plainInput, secretInput string, plain, secret map[string]string) error {
	for k := range plain {
		if err := checkEnvName(plainInput, k); err != nil {
			return err
		}
	}
	for k := range secret {
		if err := checkEnvName(secretInput, k); err != nil {
			return err
		}
		if _, dup := plain[k]; dup {
			return fmt.Errorf("input %q: %s is set both as a plain setting and as a secret (input %q); keep it in one of them", plainInput, k, secretInput)
		}
	}
	return nil
}

func checkEnvName(input, k string) error {
	if k == "" || strings.ContainsAny(k, "= \t\n") {
		return fmt.Errorf("input %q: %q is not a variable name; write NAME=value", input, k)
	}
	return nil
}

// parsePort reads "8000", "8000/tcp" or "HOST:CONTAINER[/proto]" and returns
// the container port ("8000/tcp") and the host port ("" for any).
func parsePort(s string) (containerPort, hostPort string, err error) {
	bad := func() error {
		return fmt.Errorf(`input "ready-port": %q is not a port; use the container port (8000) or HOST:CONTAINER to publish on a fixed loopback port (18000:8000)`, s)
	}
	host, cport, ok := strings.Cut(s, ":")
	if !ok {
		host, cport = "", s
	}
	num, proto, _ := strings.Cut(cport, "/")
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" {
		return "", "", fmt.Errorf(`input "ready-port": %q is not TCP; readiness is checked over HTTP, use a TCP port`, s)
	}
	if n, err := strconv.Atoi(num); err != nil || n < 1 || n > 65535 {
		return "", "", bad()
	}
	if ok {
		if n, err := strconv.Atoi(host); err != nil || n < 1 || n > 65535 {
			return "", "", bad()
		}
	}
	return num + "/tcp", host, nil
}

// ParseEnv reads the "smoke-env" input: one NAME=value a line; blank lines
// and lines starting with # are skipped. The value is everything after the
// first "=", as written (no quotes removed, nothing expanded).
func ParseEnv(text string) (map[string]string, error) { return ParseVars("smoke-env", text) }

// ParseVars reads NAME=value lines, as ParseEnv, for the named input
// ("smoke-secrets" reads the same way). Errors name the line, never quote it.
func ParseVars(input, text string) (map[string]string, error) {
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(strings.TrimPrefix(k, "export "))
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			// The line may hold a secret: name the line, never quote it.
			return nil, fmt.Errorf(`input %q: line %d is not NAME=value; write one variable a line, e.g. DATABASE_URL=postgresql://db/shop`, input, n)
		}
		env[k] = v
	}
	return env, sc.Err()
}

// ParseCommand reads the "test-command" input: a JSON array
// (["pytest", "-q"]) or a command line split as a POSIX shell would, without
// expansion ("pytest -q tests/smoke"). Use sh -c '...' for shell syntax.
func ParseCommand(text string) ([]string, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	if strings.HasPrefix(text, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(text), &argv); err != nil {
			return nil, fmt.Errorf(`input "test-command": %v; write a JSON array of strings, e.g. ["pytest", "-q"]`, err)
		}
		if len(argv) == 0 || argv[0] == "" {
			return nil, errors.New(`input "test-command": the array is empty; name the program first, e.g. ["pytest", "-q"]`)
		}
		return argv, nil
	}
	argv, err := shlex.Split(text)
	if err != nil {
		return nil, fmt.Errorf(`input "test-command": %v; check the quotes`, err)
	}
	return argv, nil
}

// ParseServices reads the "services" input, a YAML mapping from service name
// to its settings, in the order written:
//
//	db:
//	  image: postgres:17
//	  env:
//	    POSTGRES_USER: shop
//	  secrets:
//	    POSTGRES_PASSWORD: ${{ secrets.TEST_DB_PASSWORD }}
//	  command: ["-c", "fsync=off"]
//	  healthcheck: ["pg_isready", "-U", "postgres"]
//
// Errors name the line and the field.
func ParseServices(text string) ([]Service, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		return nil, fmt.Errorf(`input "services": %v; write a mapping from name to settings, e.g. "db: {image: postgres:17}"`, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf(`input "services": line %d: expected a mapping from service name to settings, e.g. "db: {image: postgres:17}"`, root.Line)
	}
	var out []Service
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf(`input "services": line %d: service %q: expected its settings (image, env, secrets, command, healthcheck)`, v.Line, k.Value)
		}
		var spec struct {
			Image       string
			Env         map[string]string
			Secrets     map[string]string
			Command     stringList
			Healthcheck stringList
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			f, fv := v.Content[j], v.Content[j+1]
			var target any
			var want string
			switch f.Value {
			case "image":
				target, want = &spec.Image, "an image reference, e.g. postgres:17"
			case "env":
				target, want = &spec.Env, "NAME: value pairs"
			case "secrets":
				target, want = &spec.Secrets, "NAME: value pairs"
			case "command":
				target, want = &spec.Command, `a list of arguments, e.g. ["-c", "fsync=off"]`
			case "healthcheck":
				target, want = &spec.Healthcheck, `a command, e.g. ["pg_isready", "-U", "postgres"]`
			default:
				return nil, fmt.Errorf(`input "services": line %d: service %q: unknown field %q; use image, env, secrets, command or healthcheck`, f.Line, k.Value, f.Value)
			}
			if err := fv.Decode(target); err != nil {
				return nil, fmt.Errorf(`input "services": line %d: service %q: %s: expected %s`, fv.Line, k.Value, f.Value, want)
			}
		}
		out = append(out, Service{Name: k.Value, Image: spec.Image, Env: spec.Env, Secrets: spec.Secrets, Command: spec.Command, Healthcheck: spec.Healthcheck})
	}
	return out, nil
}

// stringList is a YAML list of strings, or one string split like a command line.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		argv, err := shlex.Split(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		*l = argv
		return nil
	}
	var argv []string
	if err := n.Decode(&argv); err != nil {
		return err
	}
	*l = argv
	return nil
}

// secretName matches environment variable names whose values are secrets.
var secretName = regexp.MustCompile(`(?i)(pass|secret|token|key|credential|auth|private|dsn|cookie|session|salt|cert)`)

// LooksSecret reports whether a variable's name says its value is a secret
// (DB_PASSWORD, API_TOKEN). It is a guess, for warnings only: what is masked
// is what the user declares secret, never what a name suggests.
func LooksSecret(name string) bool { return secretName.MatchString(name) }

// SecretValues returns every value the run must mask: the values of Secrets,
// the image's and each service's, and the passwords of URLs in any value, in
// the forms they take in a URL.
func (c Config) SecretValues() []string {
	var out []string
	add := func(env map[string]string, all bool) {
		keys := make([]string, 0, len(env))
		for k := range env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := env[k]
			if all && strings.TrimSpace(v) != "" {
				out = append(out, v)
			}
			out = append(out, URLPasswords(v)...)
		}
	}
	add(c.Env, false)
	add(c.Secrets, true)
	for _, s := range c.Services {
		add(s.Env, false)
		add(s.Secrets, true)
	}
	return out
}

// URLPasswords returns the password of v when v is a URL with one, as
// written and in its escaped forms.
func URLPasswords(v string) []string {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || u.User == nil {
		return nil
	}
	p, ok := u.User.Password()
	if !ok || p == "" {
		return nil
	}
	out := []string{p, url.PathEscape(p), url.QueryEscape(p)}
	if _, raw, ok := strings.Cut(u.User.String(), ":"); ok {
		out = append(out, raw)
	}
	return out
}
