package imagetest

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/smoke"
)

// Input describes one action input (and CLI flag) of the test stage.
type Input struct {
	Name string
	// Kind is "string", "bool", "list" (comma- or newline-separated),
	// "lines" (newline-separated) or "yaml".
	Kind        string
	Default     string
	Description string
	// Secret says the value holds secrets: every value of it is masked and
	// never echoed (for "lines", the value of each NAME=value; for "yaml", the
	// values under each "secrets:" key).
	Secret bool
}

// Inputs are the test stage's inputs, in the order to document them.
var Inputs = []Input{
	{Name: "test-policy", Kind: "list", Description: "policy checks and their modes, CHECK=fail|warn|off (checks: user, secrets, size, labels, ports, exec; all=MODE sets every one); unlisted checks keep their defaults: user, secrets and exec fail, size, labels and ports warn"},
	{Name: "size-budget", Kind: "string", Default: "1GB", Description: "largest compressed image size for the size check, e.g. 300MB or 1GiB"},
	{Name: "required-labels", Kind: "list", Default: strings.Join(policy.DefaultLabels, ","), Description: "labels the labels check requires, non-empty"},
	{Name: "secrets-allow", Kind: "list", Description: "paths whose secret findings are ignored (path.Match patterns, DIR/** for a tree), e.g. /app/tests/fixtures/**"},
	{Name: "structure-tests", Kind: "list", Description: "container-structure-test files (schema 2.0.0) to run against the image; globs allowed"},
	{Name: "smoke", Kind: "string", Default: string(SmokeAuto), Description: "smoke run through the Docker engine: true, false, or auto (run when an engine answers)"},
	{Name: "services", Kind: "yaml", Secret: true, Description: "containers to start before the image on a private network, as YAML: NAME: {image, env, secrets, command, healthcheck}; the image reaches each by NAME; env holds plain settings, secrets the masked ones"},
	{Name: "smoke-env", Kind: "lines", Description: "the image's plain settings in the smoke run, NAME=value per line, never masked (secrets go in smoke-secrets)"},
	{Name: "smoke-secrets", Kind: "lines", Secret: true, Description: "the image's secret environment in the smoke run, NAME=value per line, every value masked (at least 4 characters)"},
	{Name: "ready-path", Kind: "string", Description: "HTTP path that answers 2xx once the image is ready, e.g. /readyz (default: the image's HEALTHCHECK)"},
	{Name: "ready-port", Kind: "string", Description: "container port of ready-path, or HOST:CONTAINER for a fixed loopback port (default: the port the image exposes)"},
	{Name: "test-command", Kind: "string", Description: `command run in a second container of the image once it is ready, with the services and the image (as "app") reachable by name; JSON array or shell-like words`},
	{Name: "grace-period", Kind: "string", Default: smoke.DefaultGracePeriod.String(), Description: "how long the image may take to exit after SIGTERM (or its STOPSIGNAL)"},
	{Name: "test-timeout", Kind: "string", Default: smoke.DefaultTimeout.String(), Description: "bound of each wait of the smoke run (services, readiness, test command) and of each command test"},
	{Name: "junit", Kind: "string", Description: "write the test report as JUnit XML to this file"},
}

// ConfigFromInputs reads the test stage's inputs through get (the action's
// or the flags'; "" for an input not set) into a Config. dir resolves relative
// paths and globs of structure-tests. Every error names its input.
func ConfigFromInputs(get func(name string) string, dir string) (Config, error) {
	var cfg Config
	var err error
	if v := strings.TrimSpace(get("test-policy")); v != "" {
		if cfg.Policy.Modes, err = policy.ParseModes(v); err != nil {
			return cfg, err
		}
	}
	if v := strings.TrimSpace(get("size-budget")); v != "" {
		if cfg.Policy.SizeBudget, err = policy.ParseSize("size-budget", v); err != nil {
			return cfg, err
		}
	}
	if v := get("required-labels"); strings.TrimSpace(v) != "" {
		cfg.Policy.RequiredLabels = list(v)
	}
	cfg.Policy.SecretsAllow = list(get("secrets-allow"))
	for _, p := range list(get("structure-tests")) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		matches, err := filepath.Glob(p)
		if err != nil {
			return cfg, fmt.Errorf(`input "structure-tests": %q is not a valid pattern: %v`, p, err)
		}
		if len(matches) == 0 {
			return cfg, fmt.Errorf(`input "structure-tests": %s matches no file; list container-structure-test files that exist`, p)
		}
		sort.Strings(matches)
		cfg.StructureTests = append(cfg.StructureTests, matches...)
	}
	switch m := SmokeMode(strings.ToLower(strings.TrimSpace(get("smoke")))); m {
	case "":
		cfg.SmokeMode = SmokeAuto
	case SmokeAuto, SmokeOn, SmokeOff:
		cfg.SmokeMode = m
	default:
		return cfg, fmt.Errorf(`input "smoke": %q is not true, false or auto`, m)
	}
	s := &cfg.Smoke
	if s.Services, err = smoke.ParseServices(get("services")); err != nil {
		return cfg, err
	}
	if s.Env, err = smoke.ParseEnv(get("smoke-env")); err != nil {
		return cfg, err
	}
	if s.Secrets, err = smoke.ParseVars("smoke-secrets", get("smoke-secrets")); err != nil {
		return cfg, err
	}
	s.ReadyPath = strings.TrimSpace(get("ready-path"))
	s.ReadyPort = strings.TrimSpace(get("ready-port"))
	if s.TestCommand, err = smoke.ParseCommand(get("test-command")); err != nil {
		return cfg, err
	}
	if s.GracePeriod, err = duration("grace-period", get("grace-period")); err != nil {
		return cfg, err
	}
	if s.Timeout, err = duration("test-timeout", get("test-timeout")); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func duration(input, v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("input %q: %q is not a positive duration; write e.g. 10s or 2m", input, v)
	}
	return d, nil
}

func list(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '\n' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
