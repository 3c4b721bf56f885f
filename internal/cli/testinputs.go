package cli

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/smoke"
	"github.com/deploy-action/deploy-action/pkg/textlist"
)

// testConfig reads the test stage's inputs through get (the action's or the
// flags'; "" for an input not set) into its Config. dir resolves relative
// paths and globs of structure-tests. Every error names its input.
func testConfig(get func(name string) string, dir string) (imagetest.Config, error) {
	var cfg imagetest.Config
	var err error
	if v := strings.TrimSpace(get("test-policy")); v != "" {
		if cfg.Policy.Modes, err = policy.ParseModes(v); err != nil {
			return cfg, nameInput(err)
		}
	}
	if v := strings.TrimSpace(get("size-budget")); v != "" {
		if cfg.Policy.SizeBudget, err = policy.ParseSize(v); err != nil {
			return cfg, nameInput(err)
		}
	}
	if v := get("required-labels"); strings.TrimSpace(v) != "" {
		cfg.Policy.RequiredLabels = textlist.Split(v)
	}
	cfg.Policy.SecretsAllow = textlist.Split(get("secrets-allow"))
	for _, p := range textlist.Split(get("structure-tests")) {
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
	switch m := imagetest.SmokeMode(strings.ToLower(strings.TrimSpace(get("smoke")))); m {
	case "":
		cfg.SmokeMode = imagetest.SmokeAuto
	case imagetest.SmokeAuto, imagetest.SmokeOn, imagetest.SmokeOff:
		cfg.SmokeMode = m
	default:
		return cfg, fmt.Errorf(`input "smoke": %q is not true, false or auto`, m)
	}
	s := &cfg.Smoke
	if s.Services, err = smoke.ParseServices(get("services")); err != nil {
		return cfg, fmt.Errorf("input %q: %w", "services", err)
	}
	if s.Env, err = smoke.ParseEnv(get("smoke-env")); err != nil {
		return cfg, fmt.Errorf("input %q: %w", "smoke-env", err)
	}
	if s.Secrets, err = smoke.ParseEnv(get("smoke-secrets")); err != nil {
		return cfg, fmt.Errorf("input %q: %w", "smoke-secrets", err)
	}
	s.ReadyPath = strings.TrimSpace(get("ready-path"))
	s.ReadyPort = strings.TrimSpace(get("ready-port"))
	if s.TestCommand, err = smoke.ParseCommand(get("test-command")); err != nil {
		return cfg, fmt.Errorf("input %q: %w", "test-command", err)
	}
	if s.GracePeriod, err = positiveDuration("grace-period", get("grace-period")); err != nil {
		return cfg, err
	}
	if s.Timeout, err = positiveDuration("test-timeout", get("test-timeout")); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// positiveDuration reads a duration input that must be above zero; "" is 0,
// for the stage's default.
func positiveDuration(input, v string) (time.Duration, error) {
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
