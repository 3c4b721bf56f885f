package smoke

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/shlex"
	"go.yaml.in/yaml/v3"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/internal/ports"
	"github.com/deploy-action/deploy-action/pkg/internal/strictyaml"
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

// Fields of Config, as the *field.Error of New names them.
const (
	FieldServices    = "smoke.Config.Services"
	FieldEnv         = "smoke.Config.Env"
	FieldSecrets     = "smoke.Config.Secrets"
	FieldReadyPath   = "smoke.Config.ReadyPath"
	FieldReadyPort   = "smoke.Config.ReadyPort"
	FieldTestCommand = "smoke.Config.TestCommand"
	FieldGracePeriod = "smoke.Config.GracePeriod"
	FieldTimeout     = "smoke.Config.Timeout"
)

// validate checks the config and fills in defaults. Errors are
// *field.Error.
func (c Config) validate() (Config, error) {
	if c.GracePeriod == 0 {
		c.GracePeriod = DefaultGracePeriod
	}
	if c.GracePeriod < 0 {
		return c, field.Errorf(FieldGracePeriod, "%s is negative; use a duration such as 10s", c.GracePeriod)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 0 {
		return c, field.Errorf(FieldTimeout, "%s is negative; use a duration such as 2m", c.Timeout)
	}
	if c.Alias == "" {
		c.Alias = DefaultAlias
	}
	if c.ReadyPath != "" && !strings.HasPrefix(c.ReadyPath, "/") {
		return c, field.Errorf(FieldReadyPath, "%q does not start with \"/\"; use a path such as /readyz", c.ReadyPath)
	}
	if c.ReadyPort != "" {
		if _, _, err := parsePort(c.ReadyPort); err != nil {
			return c, err
		}
	}
	if err := c.checkServices(); err != nil {
		return c, err
	}
	return c, checkEnv(FieldEnv, FieldSecrets, c.Env, c.Secrets)
}

// checkServices checks the services' names, images and environments.
func (c Config) checkServices() error {
	seen := map[string]bool{c.Alias: true}
	for i, s := range c.Services {
		switch {
		case s.Name == "":
			return field.Errorf(FieldServices, "service %d has no name; give each service the host name the image reaches it by, e.g. db", i+1)
		case !nameRE.MatchString(s.Name):
			return field.Errorf(FieldServices, "service name %q is not a host name; use lower-case letters, digits, \"-\", \"_\" or \".\"", s.Name)
		case seen[s.Name]:
			return field.Errorf(FieldServices, "the name %q is used twice (the image itself is %q); give each service its own name", s.Name, c.Alias)
		case s.Image == "":
			return field.Errorf(FieldServices, "service %q has no image; set its image, e.g. image: postgres:17", s.Name)
		}
		seen[s.Name] = true
		if err := checkEnv(FieldServices, FieldServices, s.Env, s.Secrets); err != nil {
			return err
		}
	}
	return nil
}

// checkEnv checks the names of plain and secret variables, and that none is
// in both (which value would win is not something to guess).
func checkEnv(plainField, secretField string, plain, secret map[string]string) error {
	for k := range plain {
		if err := checkEnvName(plainField, k); err != nil {
			return err
		}
	}
	for k := range secret {
		if err := checkEnvName(secretField, k); err != nil {
			return err
		}
		if _, dup := plain[k]; dup {
			return field.Errorf(plainField, "%s is set both as a plain setting and as a secret; keep it in one of them", k)
		}
	}
	return nil
}

func checkEnvName(f, k string) error {
	if k == "" || strings.ContainsAny(k, "= \t\n") {
		return field.Errorf(f, "%q is not a variable name; write NAME=value", k)
	}
	return nil
}

// parsePort reads "8000", "8000/tcp" or "HOST:CONTAINER[/proto]" and returns
// the container port ("8000/tcp") and the host port ("" for any).
func parsePort(s string) (containerPort, hostPort string, err error) {
	spec, err := ports.Parse(s)
	switch {
	case errors.Is(err, ports.ErrProtocol) || err == nil && spec.Port.Proto() != "tcp":
		return "", "", field.Errorf(FieldReadyPort, "%q is not TCP; readiness is checked over HTTP, use a TCP port", s)
	case err != nil:
		return "", "", field.Errorf(FieldReadyPort, "%q is not a port; use the container port (8000) or HOST:CONTAINER to publish on a fixed loopback port (18000:8000)", s)
	}
	return string(spec.Port), spec.HostPort, nil
}

// ParseEnv reads an environment, plain or secret: one NAME=value a line;
// blank lines and lines starting with # are skipped. The value is everything
// after the first "=", as written (no quotes removed, nothing expanded).
// Errors name the line, never quote it: it may hold a secret.
func ParseEnv(text string) (map[string]string, error) {
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
			return nil, fmt.Errorf("line %d is not NAME=value; write one variable a line, e.g. DATABASE_URL=postgresql://db/shop", n)
		}
		env[k] = v
	}
	return env, sc.Err()
}

// ParseCommand reads a test command: a JSON array
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
			return nil, fmt.Errorf(`%v; write a JSON array of strings, e.g. ["pytest", "-q"]`, err)
		}
		if len(argv) == 0 || argv[0] == "" {
			return nil, errors.New(`the array is empty; name the program first, e.g. ["pytest", "-q"]`)
		}
		return argv, nil
	}
	argv, err := shlex.Split(text)
	if err != nil {
		return nil, fmt.Errorf("%v; check the quotes", err)
	}
	return argv, nil
}

// ParseServices reads services as YAML, a mapping from service name
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
	var specs map[string]serviceSpec
	root, err := strictyaml.Decode([]byte(text), &specs)
	if err != nil {
		return nil, servicesError(err)
	}
	if root == nil {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf(`line %d: expected a mapping from service name to settings, e.g. "db: {image: postgres:17}"`, root.Line)
	}
	// The map has the settings; the document has the order.
	var out []Service
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		if v == nil || v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf(`line %d: service %q: expected its settings (%s)`, k.Line, k.Value, strings.Join(serviceFields, ", "))
		}
		spec := specs[k.Value]
		out = append(out, Service{Name: k.Value, Image: spec.Image, Env: spec.Env, Secrets: spec.Secrets, Command: spec.Command, Healthcheck: spec.Healthcheck})
	}
	return out, nil
}

// serviceSpec is a service's settings as ParseServices reads them.
type serviceSpec struct {
	Image       string            `yaml:"image"`
	Env         map[string]string `yaml:"env"`
	Secrets     map[string]string `yaml:"secrets"`
	Command     stringList        `yaml:"command"`
	Healthcheck stringList        `yaml:"healthcheck"`
}

var serviceFields = strictyaml.Fields(reflect.TypeFor[serviceSpec]())

// serviceWants says what each setting of a service takes.
var serviceWants = map[string]string{
	"image":       "an image reference, e.g. postgres:17",
	"env":         "NAME: value pairs",
	"secrets":     "NAME: value pairs",
	"command":     `a list of arguments, e.g. ["-c", "fsync=off"]`,
	"healthcheck": `a command, e.g. ["pg_isready", "-U", "postgres"]`,
}

// servicesError says what the decoder found wrong in the terms of services:
// the line, the service, the setting.
func servicesError(err error) error {
	var se *strictyaml.Error
	if !errors.As(err, &se) {
		return err
	}
	var parts []string
	if se.Line > 0 {
		parts = append(parts, fmt.Sprintf("line %d", se.Line))
	}
	if len(se.Path) > 0 {
		parts = append(parts, fmt.Sprintf("service %q", fmt.Sprint(se.Path[0])))
	}
	where := strings.Join(parts, ": ")
	var setting string
	if len(se.Path) > 1 {
		setting = fmt.Sprint(se.Path[1])
	}
	switch {
	case se.Problem == strictyaml.Syntax:
		return fmt.Errorf(`%s; write a mapping from name to settings, e.g. "db: {image: postgres:17}"`, strings.Join(append(parts, se.Msg), ": "))
	case se.Problem == strictyaml.UnknownField:
		return fmt.Errorf(`%s: unknown field %q; use %s`, where, setting, strings.Join(serviceFields, ", "))
	case se.Problem == strictyaml.DuplicateKey && setting == "":
		return fmt.Errorf(`%s is defined twice; keep one`, where)
	case se.Problem == strictyaml.DuplicateKey:
		return fmt.Errorf(`%s: %s is set twice; keep one`, where, setting)
	case se.Problem == strictyaml.WrongType && len(se.Path) == 0:
		return fmt.Errorf(`%s: expected a mapping from service name to settings, e.g. "db: {image: postgres:17}"`, where)
	case se.Problem == strictyaml.WrongType && setting == "":
		return fmt.Errorf(`%s: expected its settings (%s)`, where, strings.Join(serviceFields, ", "))
	case se.Problem == strictyaml.WrongType:
		return fmt.Errorf(`%s: %s: expected %s`, where, setting, serviceWants[setting])
	}
	return fmt.Errorf(`%s: %s`, where, se.Msg)
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
