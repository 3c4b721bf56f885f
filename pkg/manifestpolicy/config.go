package manifestpolicy

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/deploy-action/deploy-action/pkg/textlist"
)

// Check names one check. The names are those a user writes in CHECK=MODE.
type Check string

// The checks, in the order they are reported.
const (
	// Secrets: a literal secret in a container's env value or a ConfigMap.
	Secrets Check = "secrets"
	// Digest: an image not pinned by digest once the release is pinned.
	Digest Check = "digest"
	// Latest: an image tagged latest, or not tagged at all.
	Latest Check = "latest"
	// Migrations: a workload of several pods whose command runs migrations.
	Migrations Check = "migrations"
	// DatabaseVolume: a database image without a persistent volume.
	DatabaseVolume Check = "database-volume"
	// ExposedAdmin: a LoadBalancer or NodePort Service in front of an admin
	// or metrics port.
	ExposedAdmin Check = "exposed-admin"
	// Probes: a long-running container without readiness or liveness probe.
	Probes Check = "probes"
	// Resources: a container without CPU and memory requests or a memory limit.
	Resources Check = "resources"
	// Baseline: the Pod Security Standards' baseline level (privileged
	// containers, hostPath, host namespaces and ports, added capabilities).
	Baseline Check = "baseline"
	// Restricted: the restricted level beyond baseline (root, privilege
	// escalation, capabilities not dropped, no seccomp profile).
	Restricted Check = "restricted"
	// PDB: a workload of several replicas without a PodDisruptionBudget.
	PDB Check = "pdb"
)

// Checks lists every check in report order.
var Checks = []Check{Secrets, Digest, Latest, Migrations, DatabaseVolume, ExposedAdmin, Probes, Resources, Baseline, Restricted, PDB}

// Mode says what a check's finding does.
type Mode string

// Modes of a check.
const (
	Fail Mode = "fail" // the finding stops the deploy
	Warn Mode = "warn" // the finding is reported, the deploy goes on
	Off  Mode = "off"  // the check does not run
)

// DefaultModes returns the default mode of every check: a secret in plain
// text fails (it is in the repository and the cluster for anyone to read);
// the rest warns, since each has releases where it is right.
func DefaultModes() map[Check]Mode {
	m := make(map[Check]Mode, len(Checks))
	for _, c := range Checks {
		m[c] = Warn
	}
	m[Secrets] = Fail
	return m
}

// Field names the part of a Config an error is about; the caller maps it to
// its own name for it (an action input, a flag, a config key).
type Field string

// The fields of Config.
const (
	FieldModes Field = "modes"
	FieldAllow Field = "allow"
)

// ConfigError is a Config, or a text for one, that is not valid.
type ConfigError struct {
	Field Field
	// Value is the item at fault, as given.
	Value string
	// Msg says what is wrong and how to fix it.
	Msg string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%q: %s", e.Value, e.Msg) }

// ParseModes reads CHECK=MODE items separated by commas or newlines, e.g.
// "probes=fail, pdb=off". Checks left out keep their default; "all=MODE" sets
// every check first, wherever it is written.
func ParseModes(s string) (map[Check]Mode, error) {
	modes := DefaultModes()
	var rest [][2]string
	for _, f := range textlist.Split(s) {
		k, v, ok := strings.Cut(f, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.ToLower(strings.TrimSpace(v))
		if !ok || k == "" || v == "" {
			return nil, &ConfigError{Field: FieldModes, Value: f, Msg: fmt.Sprintf(
				`is not CHECK=MODE; write e.g. "probes=fail, pdb=off" (checks: %s, or all; modes: fail, warn, off)`, checkNames())}
		}
		m := Mode(v)
		if err := validMode(k, m, f); err != nil {
			return nil, err
		}
		if k == "all" {
			for _, c := range Checks {
				modes[c] = m
			}
			continue
		}
		if !slices.Contains(Checks, Check(k)) {
			return nil, unknownCheck(k)
		}
		rest = append(rest, [2]string{k, v})
	}
	for _, kv := range rest {
		modes[Check(kv[0])] = Mode(kv[1])
	}
	return modes, nil
}

func validMode(check string, m Mode, item string) error {
	switch m {
	case Fail, Warn, Off:
		return nil
	}
	return &ConfigError{Field: FieldModes, Value: item, Msg: fmt.Sprintf("mode %q of %s is unknown; use fail, warn or off", string(m), check)}
}

func unknownCheck(k string) error {
	return &ConfigError{Field: FieldModes, Value: k, Msg: fmt.Sprintf("is not a check; use one of %s, or all", checkNames())}
}

func checkNames() string {
	names := make([]string, len(Checks))
	for i, c := range Checks {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// Allow lets objects through checks: those whose kind, namespace and name
// match (path.Match patterns: "*" for any), for Check or, when it is empty,
// for every check. An object without a namespace is matched with
// Config.Namespace.
type Allow struct {
	Check                 Check
	Kind, Namespace, Name string
}

func (a Allow) String() string {
	s := a.Kind + "/" + a.Namespace + "/" + a.Name
	if a.Check != "" {
		s = string(a.Check) + ":" + s
	}
	return s
}

func (a Allow) matches(c Check, kind, namespace, name string) bool {
	if a.Check != "" && a.Check != c {
		return false
	}
	for _, p := range [][2]string{{a.Kind, kind}, {a.Namespace, namespace}, {a.Name, name}} {
		if ok, _ := path.Match(p[0], p[1]); !ok {
			return false
		}
	}
	return true
}

// ParseAllow reads allow-list entries, one an item: [CHECK:]KIND/NAMESPACE/NAME,
// e.g. "Deployment/shop/postgres" or "probes:Deployment/*/worker-*".
func ParseAllow(items []string) ([]Allow, error) {
	var out []Allow
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var a Allow
		rest := item
		if c, r, ok := strings.Cut(item, ":"); ok {
			c = strings.ToLower(strings.TrimSpace(c))
			if !slices.Contains(Checks, Check(c)) {
				return nil, &ConfigError{Field: FieldAllow, Value: item, Msg: fmt.Sprintf(
					"%q is not a check; write [CHECK:]KIND/NAMESPACE/NAME with CHECK one of %s", c, checkNames())}
			}
			a.Check, rest = Check(c), r
		}
		parts := strings.Split(strings.TrimSpace(rest), "/")
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return nil, &ConfigError{Field: FieldAllow, Value: item, Msg: `is not [CHECK:]KIND/NAMESPACE/NAME; write e.g. "Deployment/shop/postgres" or "probes:Deployment/*/worker" ("*" matches any)`}
		}
		a.Kind, a.Namespace, a.Name = parts[0], parts[1], parts[2]
		for _, p := range parts {
			if _, err := path.Match(p, ""); err != nil {
				return nil, &ConfigError{Field: FieldAllow, Value: item, Msg: fmt.Sprintf("%q is not a valid pattern (%v); use names with \"*\" for any part", p, err)}
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// Config is what the checks enforce.
type Config struct {
	// Modes sets each check's mode; a check left out takes its default
	// (DefaultModes).
	Modes map[Check]Mode
	// Allow lists objects let through.
	Allow []Allow
	// Namespace is where objects that name none go ("default" when empty),
	// for the allow list and for matching PodDisruptionBudgets and Services
	// to workloads.
	Namespace string
}

func (c Config) withDefaults() (Config, error) {
	modes := DefaultModes()
	for k, m := range c.Modes {
		if !slices.Contains(Checks, k) {
			return c, unknownCheck(string(k))
		}
		if err := validMode(string(k), m, string(k)+"="+string(m)); err != nil {
			return c, err
		}
		modes[k] = m
	}
	c.Modes = modes
	for _, a := range c.Allow {
		if a.Check != "" && !slices.Contains(Checks, a.Check) {
			return c, &ConfigError{Field: FieldAllow, Value: a.String(), Msg: fmt.Sprintf("%q is not a check; use one of %s", a.Check, checkNames())}
		}
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	return c, nil
}
