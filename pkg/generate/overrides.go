package generate

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/deploy-action/deploy-action/pkg/detect"
)

// Overrides are the values given on the command line; each replaces what the
// config file or detection says. The empty value means "not given".
type Overrides struct {
	// Service selects the service the per-service overrides apply to; needed
	// only when the repository has several.
	Service      string
	Language     string
	Context      string
	Dockerfile   string
	Image        string
	TestCommand  string
	Manifests    string
	Registry     string
	Namespace    string
	Cluster      string
	Branch       string
	Environments []string
	Tags         []string
	ActionRef    string
	ActionSHA    string
	Templates    string
	Workflow     string
}

func (o Overrides) perService() []string {
	var set []string
	for _, f := range []struct{ flag, v string }{{"language", o.Language}, {"context", o.Context}, {"dockerfile", o.Dockerfile}, {"image", o.Image}, {"test-command", o.TestCommand}, {"manifests", o.Manifests}} {
		if f.v != "" {
			set = append(set, f.flag)
		}
	}
	return set
}

func flagErr(flag, value, problem, fix string) error {
	return &InputError{Field: "flag --" + flag, Value: value, Problem: problem, Fix: fix}
}

// knownLanguages are the languages the templates can set up.
var knownLanguages = map[string]detect.Language{
	"python": detect.Python, "go": detect.Go, "golang": detect.Go,
	"javascript": detect.Node, "node": detect.Node, "typescript": detect.Node, "java": detect.Java,
}

// apply folds the overrides into cfg, recording each as coming from its flag.
// services are the detected ones, for --service and per-service flags.
// Conflicting overrides are rejected here, before anything is rendered.
func (o Overrides) apply(cfg *Config, services []detect.Service, from map[string]source) error {
	if o.Language != "" {
		if _, ok := knownLanguages[strings.ToLower(o.Language)]; !ok {
			return flagErr("language", o.Language, "is not a language the generator knows", "use python, go, node or java")
		}
	}
	if o.Registry != "" && o.Image != "" {
		ref, err := name.NewRepository(o.Image)
		if err == nil && ref.RegistryStr() != registryHost(o.Registry) {
			return &InputError{Field: "flags --registry and --image", Value: o.Registry + " / " + o.Image,
				Problem: fmt.Sprintf("conflict: the image is on %s, not %s", ref.RegistryStr(), registryHost(o.Registry)),
				Fix:     "give one of them, or an --image on the --registry"}
		}
	}
	if o.ActionSHA != "" && o.ActionRef == "" || o.ActionSHA == "" && o.ActionRef != "" {
		return &InputError{Field: "flags --action-version and --action-sha", Problem: "must be given together", Fix: "pass the release tag and the commit it points to"}
	}
	set := func(dst *string, v, flag, key string) {
		if v != "" {
			*dst = v
			from[key] = source{Flag: flag}
		}
	}
	set(&cfg.Registry, o.Registry, "registry", "registry")
	set(&cfg.Namespace, o.Namespace, "namespace", "namespace")
	set(&cfg.Cluster, o.Cluster, "cluster", "cluster")
	set(&cfg.Branch, o.Branch, "branch", "branch")
	set(&cfg.Workflow.Templates, o.Templates, "templates", "workflow.templates")
	set(&cfg.Workflow.Path, o.Workflow, "workflow", "workflow.path")
	if len(o.Tags) > 0 {
		cfg.Tags = o.Tags
		from["tags"] = source{Flag: "tags"}
	}
	if o.ActionRef != "" {
		p := Pin{Repo: DefaultActionRepo, Version: o.ActionRef, SHA: o.ActionSHA}
		if cfg.Action != nil && cfg.Action.Repo != "" {
			p.Repo = cfg.Action.Repo
		}
		if err := p.Validate("action"); err != nil {
			return flagErr("action-sha", o.ActionSHA, "with --action-version "+o.ActionRef+" is not a valid pin", err.Error())
		}
		cfg.Action = &p
		from["action"] = source{Flag: "action-version"}
	}
	if len(o.Environments) > 0 {
		old := map[string]Environment{}
		for _, e := range cfg.Environments {
			old[e.Name] = e
		}
		cfg.Environments = nil
		for _, n := range o.Environments {
			e, ok := old[n]
			if !ok {
				e = Environment{Name: n}
			}
			cfg.Environments = append(cfg.Environments, e)
			from["environments."+n] = source{Flag: "environments"}
		}
	}
	per := o.perService()
	if len(per) == 0 {
		if o.Service != "" {
			return flagErr("service", o.Service, "is given without a per-service flag", "add --language, --context, --dockerfile, --image, --test-command or --manifests, or drop --service")
		}
		return nil
	}
	target := o.Service
	if target == "" {
		if len(services) != 1 {
			names := make([]string, len(services))
			for i, s := range services {
				names[i] = s.Name
			}
			return flagErr(per[0], "", fmt.Sprintf("is ambiguous: the repository has %d services (%s)", len(services), strings.Join(names, ", ")), "add --service NAME, or set it under services: in "+ConfigPath)
		}
		target = services[0].Name
	} else {
		found := false
		for _, s := range services {
			found = found || s.Name == target
		}
		if !found && len(services) > 0 {
			return flagErr("service", o.Service, "names no detected service", "use a name generate --explain shows")
		}
	}
	i := -1
	for j, s := range cfg.Services {
		if s.Name == target {
			i = j
		}
	}
	if i < 0 {
		cfg.Services = append(cfg.Services, ServiceConfig{Name: target})
		i = len(cfg.Services) - 1
	}
	sc := &cfg.Services[i]
	k := "services." + target + "."
	set(&sc.Language, strings.ToLower(o.Language), "language", k+"language")
	set(&sc.Context, o.Context, "context", k+"context")
	set(&sc.Dockerfile, o.Dockerfile, "dockerfile", k+"dockerfile")
	set(&sc.Image, o.Image, "image", k+"image")
	set(&sc.TestCommand, o.TestCommand, "test-command", k+"test-command")
	set(&sc.Manifests, o.Manifests, "manifests", k+"manifests")
	return nil
}

// registryHost is the host name go-containerregistry uses for a registry
// (docker.io is index.docker.io).
func registryHost(r string) string {
	reg, err := name.NewRegistry(r)
	if err != nil {
		return r
	}
	return reg.RegistryStr()
}

// ParseLanguage reads a --language value or a config language:.
func ParseLanguage(s string) (detect.Language, bool) {
	l, ok := knownLanguages[strings.ToLower(s)]
	return l, ok
}
