package policy

import (
	"slices"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/internal/bytesize"
	"github.com/deploy-action/deploy-action/pkg/textlist"
)

// Check names one policy check. The names are those of the "test-policy" input.
type Check string

// The checks, in the order they are reported.
const (
	User    Check = "user"
	Secrets Check = "secrets"
	Size    Check = "size"
	Labels  Check = "labels"
	Ports   Check = "ports"
	Exec    Check = "exec"
)

// Checks lists every check in report order.
var Checks = []Check{User, Secrets, Size, Labels, Ports, Exec}

// Mode says what a check's failure does.
type Mode string

// Modes of a check.
const (
	Fail Mode = "fail" // the image fails the test
	Warn Mode = "warn" // the finding is reported, the image passes
	Off  Mode = "off"  // the check does not run
)

// Default values, in one place.
const (
	// DefaultSizeBudget is the compressed size (what a node pulls) above which
	// the size check reports: 1 GB.
	DefaultSizeBudget int64 = 1_000_000_000
	// DefaultMaxScanSize is the size above which a file is not scanned for
	// secrets by content (its name is still checked): 10 MiB.
	DefaultMaxScanSize int64 = 10 << 20
)

// DefaultLabels are the OCI labels required by default: where the image came
// from, which the release report and a rollback rely on.
var DefaultLabels = []string{
	"org.opencontainers.image.source",
	"org.opencontainers.image.revision",
}

// Config is what the checks enforce.
type Config struct {
	// Modes sets each check's mode; a check left out takes its default
	// (see DefaultModes).
	Modes map[Check]Mode
	// SizeBudget is the largest compressed size in bytes (0: DefaultSizeBudget).
	SizeBudget int64
	// RequiredLabels must be present and non-empty (nil: DefaultLabels).
	RequiredLabels []string
	// SecretsAllow lists path patterns (path.Match syntax, e.g.
	// "/usr/share/doc/*/examples/*") whose findings are ignored.
	SecretsAllow []string
	// MaxScanSize is the size above which a file's content is not scanned
	// (0: DefaultMaxScanSize).
	MaxScanSize int64
}

// DefaultModes returns the default mode of every check: what makes an image
// unsafe to run fails, what is a matter of taste or context warns.
func DefaultModes() map[Check]Mode {
	return map[Check]Mode{
		User:    Fail,
		Secrets: Fail,
		Size:    Warn,
		Labels:  Warn,
		Ports:   Warn,
		Exec:    Fail,
	}
}

// Fields of Config, as the *field.Error of New and ParseModes names them.
const (
	FieldModes          = "policy.Config.Modes"
	FieldSizeBudget     = "policy.Config.SizeBudget"
	FieldRequiredLabels = "policy.Config.RequiredLabels"
	FieldSecretsAllow   = "policy.Config.SecretsAllow"
)

// ParseModes reads a comma- or newline-separated list of check=mode, e.g.
// "size=fail, labels=off", for Config.Modes. Checks left out keep their
// default; "all=MODE" sets every check first.
func ParseModes(s string) (map[Check]Mode, error) {
	modes := DefaultModes()
	for _, f := range textlist.Split(s) {
		k, v, ok := strings.Cut(f, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return nil, field.Errorf(FieldModes, `%q is not check=mode; use e.g. "size=fail,labels=off" (checks: %s; modes: fail, warn, off)`, f, checkNames())
		}
		m := Mode(strings.ToLower(v))
		if m != Fail && m != Warn && m != Off {
			return nil, field.Errorf(FieldModes, "mode %q of %q is unknown; use fail, warn or off", v, k)
		}
		if k == "all" {
			for _, c := range Checks {
				modes[c] = m
			}
			continue
		}
		c := Check(strings.ToLower(k))
		if !slices.Contains(Checks, c) {
			return nil, field.Errorf(FieldModes, "check %q is unknown; use one of %s, or all", k, checkNames())
		}
		modes[c] = m
	}
	return modes, nil
}

func checkNames() string {
	names := make([]string, len(Checks))
	for i, c := range Checks {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// ParseSize reads a size such as "500MB", "1.5 GB", "300MiB" or "1048576"
// (see bytesize.Parse), for Config.SizeBudget.
func ParseSize(s string) (int64, error) {
	n, err := bytesize.Parse(s)
	if err != nil {
		return 0, field.Errorf(FieldSizeBudget, "%q is not a size; use a positive number with a unit, e.g. 500MB or 1GiB", s)
	}
	return n, nil
}

// FormatSize writes n bytes in decimal units, as registries and `docker images` do.
func FormatSize(n int64) string { return bytesize.Format(n) }

func (c Config) withDefaults() (Config, error) {
	modes := DefaultModes()
	for k, m := range c.Modes {
		if !slices.Contains(Checks, k) {
			return c, field.Errorf(FieldModes, "check %q is unknown; use one of %s", k, checkNames())
		}
		if m != Fail && m != Warn && m != Off {
			return c, field.Errorf(FieldModes, "mode %q of %q is unknown; use fail, warn or off", m, k)
		}
		modes[k] = m
	}
	c.Modes = modes
	if c.SizeBudget < 0 {
		return c, field.Errorf(FieldSizeBudget, "%d is negative; use a size such as 500MB", c.SizeBudget)
	}
	if c.SizeBudget == 0 {
		c.SizeBudget = DefaultSizeBudget
	}
	if c.RequiredLabels == nil {
		c.RequiredLabels = DefaultLabels
	}
	for _, l := range c.RequiredLabels {
		if strings.TrimSpace(l) == "" || strings.ContainsAny(l, " =") {
			return c, field.Errorf(FieldRequiredLabels, "%q is not a label key; use keys such as org.opencontainers.image.source", l)
		}
	}
	for _, p := range c.SecretsAllow {
		if _, err := pathMatch(p, "/"); err != nil {
			return c, field.Errorf(FieldSecretsAllow, "%q is not a path pattern (%v); use e.g. /app/tests/fixtures/*", p, err)
		}
	}
	if c.MaxScanSize == 0 {
		c.MaxScanSize = DefaultMaxScanSize
	}
	return c, nil
}
