package generate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/deploy-action/deploy-action/pkg/detect"
	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

// ConfigPath is where the repository config file lives, relative to the
// repository root.
const ConfigPath = ".github/deploy-action.yaml"

// Config is the repository config file and the flags of `generate`: one
// schema. A zero field means "as detected" or the default. README's "The
// generator" section documents every key.
type Config struct {
	// Registry receives the images: docker.io (default), ghcr.io, or any
	// registry host.
	Registry string `yaml:"registry,omitempty"`
	// Namespace is the images' namespace on the registry (a Docker Hub
	// account or organisation, a GHCR owner); default: the repository's owner.
	Namespace string `yaml:"namespace,omitempty"`
	// Tags are the tag policies of the pushed image (default: version, latest).
	Tags []string `yaml:"tags,omitempty"`
	// Branch is the default branch, whose pushes deploy to staging (default: main).
	Branch string `yaml:"branch,omitempty"`
	// Cluster is the kubeconfig context deploys use, unless an environment
	// names its own (default: the kubeconfig's current context).
	Cluster string `yaml:"cluster,omitempty"`
	// Environments are the deploy targets in order (default: staging on
	// pushes to the default branch, production on version tags).
	Environments []Environment `yaml:"environments,omitempty"`
	// Action pins deploy-action itself.
	Action *Pin `yaml:"action,omitempty"`
	// Pins replace entries of the built-in table of actions the workflow
	// uses (generate --refresh-pins writes them).
	Pins []Pin `yaml:"pins,omitempty"`
	// ServiceImages are the images of backing services (postgresql, mysql,
	// redis) in tests, by tag and digest.
	ServiceImages map[string]string `yaml:"service-images,omitempty"`
	// ServicePorts are the runner's ports the test job publishes backing
	// services on, by service (default each service's own port: 5432, 3306,
	// 6379); the tests reach them on localhost there.
	ServicePorts map[string]int `yaml:"service-ports,omitempty"`
	// Services override what detection found for each service, by name.
	Services []ServiceConfig `yaml:"services,omitempty"`
	// Inputs are more inputs of the deploy-action steps, by job: release (the
	// build, test and push step, and the image test of pull requests) and
	// deploy (every deploy step). The generator's own inputs cannot be
	// replaced here; use the config key that sets them.
	Inputs StepInputs `yaml:"inputs,omitempty"`
	// Workflow is where the workflow goes and which templates render it.
	Workflow WorkflowConfig `yaml:"workflow,omitempty"`
	// Files is the section of the part that writes the Dockerfile,
	// Kubernetes manifests and monitoring files (pkg/scaffold's Options);
	// that part decodes it, strictly, itself.
	Files yaml.Node `yaml:"files,omitempty"`
}

// Environment is one deploy target.
type Environment struct {
	Name string `yaml:"name"`
	// On (key trigger) is what deploys it: "push" (to the default branch) or "tag" (a version tag).
	On string `yaml:"trigger,omitempty"`
	// KubeconfigSecret names the secret holding its kubeconfig (default:
	// KUBECONFIG_<NAME>).
	KubeconfigSecret string `yaml:"kubeconfig-secret,omitempty"`
	// Cluster is its kubeconfig context (default: the top-level cluster).
	Cluster string `yaml:"cluster,omitempty"`
	// Namespace is its namespace (default: the manifests').
	Namespace string `yaml:"namespace,omitempty"`
}

// ServiceConfig overrides detection for one service.
type ServiceConfig struct {
	Name        string   `yaml:"name"`
	Language    string   `yaml:"language,omitempty"`
	Version     string   `yaml:"language-version,omitempty"`
	Context     string   `yaml:"context,omitempty"`
	Dockerfile  string   `yaml:"dockerfile,omitempty"`
	Image       string   `yaml:"image,omitempty"`
	TestCommand string   `yaml:"test-command,omitempty"`
	Manifests   string   `yaml:"manifests,omitempty"`
	Paths       []string `yaml:"paths,omitempty"`
}

// StepInputs are extra with: inputs of the deploy-action steps.
type StepInputs struct {
	Release map[string]string `yaml:"release,omitempty"`
	Deploy  map[string]string `yaml:"deploy,omitempty"`
}

// generatedInputs are the inputs the templates set themselves, by job.
var generatedInputs = map[string][]string{
	"release": {"stages", "context", "dockerfile", "services", "smoke-env", "ready-path", "ready-port", "junit", "images", "version", "tags", "github-token", "username", "password"},
	"deploy":  {"stages", "image-map", "manifests", "manifests-format", "manifests-root", "namespace", "kubeconfig", "kube-context", "rollback"},
}

// WorkflowConfig places the workflow.
type WorkflowConfig struct {
	// Path of the workflow (default: .github/workflows/deploy.yml).
	Path string `yaml:"path,omitempty"`
	// Templates is a directory of templates replacing the embedded ones.
	Templates string `yaml:"templates,omitempty"`
}

// source records where a config value came from, for --explain and errors.
type source struct {
	File string
	Line int
	Flag string
}

func (s source) String() string {
	if s.Flag != "" {
		return "flag --" + s.Flag
	}
	return fmt.Sprintf("config %s:%d", s.File, s.Line)
}

// LoadedConfig is a config file read from disk with where each key was.
type LoadedConfig struct {
	Config
	// File is the path as given (relative to the repository root).
	File string
	// lines maps a key path ("registry", "services.shop.image") to its line.
	lines map[string]int
}

// yamlLine reads the line number yaml.v3 puts at the front of each of its
// decoding errors ("line 4: field colour not found in type ..."): its
// TypeError carries the messages only as text, and the line is what the user
// needs to find the key.
var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// ReadConfig reads a config file strictly: an unknown key or a value of the
// wrong type is an error naming file:line. name is the path to show.
func ReadConfig(r io.Reader, name string) (*LoadedConfig, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	lc := &LoadedConfig{File: name, lines: map[string]int{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return lc, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&lc.Config); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			m := yamlLine.FindStringSubmatch(te.Errors[0])
			ie := &InputError{Field: "config file", File: name, Problem: te.Errors[0], Fix: "see the keys of .github/deploy-action.yaml in README (The generator)"}
			if m != nil {
				ie.Line, _ = strconv.Atoi(m[1])
				ie.Field, ie.Problem = "config value", m[2]
				ie.Problem = configProblem(ie.Problem)
			}
			return nil, ie
		}
		return nil, &InputError{Field: "config file", File: name, Problem: "is not valid YAML: " + err.Error(), Fix: "fix the YAML syntax"}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		indexLines(&root, "", lc.lines)
	}
	if err := lc.Config.validate(lc.source, nil); err != nil {
		return nil, err
	}
	return lc, nil
}

var (
	notFound  = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	wrongType = regexp.MustCompile("^cannot unmarshal (\\S+)(?: `(.*)`)? into (\\S+)$")
)

// configProblem rewords yaml.v3's messages in the config file's terms.
func configProblem(msg string) string {
	if m := notFound.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("has unknown key %q (remove it or correct its spelling)", m[1])
	}
	if m := wrongType.FindStringSubmatch(msg); m != nil {
		want := map[string]string{"[]string": "a list", "string": "a string", "generate.Environment": "a mapping with name:", "generate.ServiceConfig": "a mapping with name:", "[]generate.Environment": "a list of environments", "[]generate.ServiceConfig": "a list of services", "generate.Pin": "a mapping of repository, version, sha", "generate.WorkflowConfig": "a mapping of path, templates", "generate.StepInputs": "a mapping of release, deploy", "map[string]string": "a mapping of names to strings", "[]generate.Pin": "a list of repository, version, sha"}[m[3]]
		if want == "" {
			want = m[3]
		}
		got := m[1]
		if m[2] != "" {
			got = strconv.Quote(m[2])
		}
		return fmt.Sprintf("has the wrong type: %s where %s is expected", got, want)
	}
	return msg
}

// indexLines records the line of every mapping key, by dotted path; list
// items with a name: key are indexed by that name.
func indexLines(n *yaml.Node, prefix string, out map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			indexLines(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prefix != "" {
				k = prefix + "." + k
			}
			out[k] = n.Content[i].Line
			indexLines(n.Content[i+1], k, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(c.Content); i += 2 {
				if c.Content[i].Value == "name" {
					k := prefix + "." + c.Content[i+1].Value
					out[k] = c.Line
					indexLines(c, k, out)
				}
			}
		}
	}
}

func (lc *LoadedConfig) source(key string) source {
	if lc == nil {
		return source{}
	}
	return source{File: lc.File, Line: lc.lines[key]}
}

// LoadConfig reads root/ConfigPath; a missing file is an empty config.
func LoadConfig(root string) (*LoadedConfig, error) {
	f, err := os.Open(filepath.Join(root, ConfigPath))
	if errors.Is(err, os.ErrNotExist) {
		return &LoadedConfig{File: ConfigPath, lines: map[string]int{}}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadConfig(f, ConfigPath)
}

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	envName  = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	secretRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validate checks values whose form is known; src locates a key for errors.
func (c *Config) validate(src func(string) source, actionInputs map[string]bool) error {
	bad := func(key, value, problem, fix string) error {
		s := src(key)
		e := &InputError{Field: "key " + strconv.Quote(key), Value: value, Problem: problem, Fix: fix}
		if s.Flag != "" {
			e.Field = "flag --" + s.Flag
		} else {
			e.File, e.Line = s.File, s.Line
		}
		return e
	}
	seen := map[string]bool{}
	for _, e := range c.Environments {
		k := "environments." + e.Name
		if !envName.MatchString(e.Name) {
			return bad(k, e.Name, "is not an environment name", "use letters, digits, - and _ (e.g. staging)")
		}
		if seen[e.Name] {
			return bad(k, e.Name, "is listed twice", "list each environment once")
		}
		seen[e.Name] = true
		if e.On != "" && e.On != "push" && e.On != "tag" {
			return bad(k+".trigger", e.On, "is not a trigger", `use "push" (the default branch) or "tag" (version tags)`)
		}
		if e.KubeconfigSecret != "" && !secretRe.MatchString(e.KubeconfigSecret) {
			return bad(k+".kubeconfig-secret", e.KubeconfigSecret, "is not a secret name", "use letters, digits and _")
		}
	}
	if c.Action != nil {
		if err := c.Action.Validate("action"); err != nil {
			var ie *InputError
			if errors.As(err, &ie) {
				s := src(ie.Field)
				ie.Field = "key " + strconv.Quote(ie.Field)
				ie.File, ie.Line = s.File, s.Line
			}
			return err
		}
	}
	for _, p := range c.Pins {
		if err := p.Validate("pins." + p.Repo); err != nil {
			return err
		}
	}
	for kind := range c.ServiceImages {
		if _, ok := scaffold.ServiceImages[detect.DependencyKind(kind)]; !ok {
			return bad("service-images."+kind, kind, "is not a backing service the generator knows", "use postgresql, mysql or redis")
		}
	}
	for kind, port := range c.ServicePorts {
		if _, ok := scaffold.ServiceImages[detect.DependencyKind(kind)]; !ok {
			return bad("service-ports."+kind, kind, "is not a backing service the generator knows", "use postgresql, mysql or redis")
		}
		if port < 1 || port > 65535 {
			return bad("service-ports."+kind, strconv.Itoa(port), "is not a TCP port", "use a port from 1 to 65535")
		}
	}
	for job, in := range map[string]map[string]string{"release": c.Inputs.Release, "deploy": c.Inputs.Deploy} {
		for k := range in {
			for _, g := range generatedInputs[job] {
				if k == g {
					return bad("inputs."+job+"."+k, k, "is set by the generator itself", "use the config key for it (see README, The generator), or a template directory")
				}
			}
			if actionInputs != nil && !actionInputs[k] {
				return bad("inputs."+job+"."+k, k, "is not an input of deploy-action", "use a name from action.yml")
			}
		}
	}
	names := map[string]bool{}
	for _, s := range c.Services {
		if !dnsLabel.MatchString(s.Name) {
			return bad("services."+s.Name, s.Name, "is not a service name", "use the name detection shows (generate --explain), a DNS label")
		}
		if names[s.Name] {
			return bad("services."+s.Name, s.Name, "is listed twice", "list each service once")
		}
		names[s.Name] = true
	}
	return nil
}

// Marshal writes the config file: a header, then the keys in schema order.
func (c *Config) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header("the choices it made; edit them here, then regenerate", ""))
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
