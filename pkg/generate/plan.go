package generate

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/shlex"

	"github.com/deploy-action/deploy-action/pkg/detect"
	"github.com/deploy-action/deploy-action/pkg/scaffold"
)

// DefaultActionRepo is deploy-action's own repository.
const DefaultActionRepo = "deploy-action/deploy-action"

// DefaultWorkflowPath is where the workflow is written.
const DefaultWorkflowPath = ".github/workflows/deploy.yml"

// Plan is everything the templates render: the workflow's jobs, decided from
// detection and the config, with no logic left for the templates but layout.
type Plan struct {
	// Header is the generated-file comment of the file being rendered.
	Header       string
	ConfigPath   string
	WorkflowPath string
	Branch       string
	Multi        bool
	Action       Pin
	Pins         Pins
	Services     []ServicePlan
	Environments []EnvPlan
	// Ecosystems are dependabot's package ecosystems besides github-actions.
	Docker []string // directories holding a Dockerfile to keep fresh
}

// ServicePlan is one service's jobs.
type ServicePlan struct {
	Name string
	// Suffix is appended to job ids ("" for a single service, "-<name>" otherwise).
	Suffix string
	// Key is the changes job's output naming whether its paths changed.
	Key      string
	Dir      string
	Paths    []string
	Language detect.Language
	Setup    Step
	Install  []string
	Test     string
	// Containers are the backing services of the test job and the smoke run.
	Containers []Container
	// TestEnv is the app's environment in the test job (services on localhost).
	TestEnv []KV
	// SmokeEnv is the image's environment in the smoke run (services by name).
	SmokeEnv []KV

	Context    string
	Dockerfile string
	Image      string
	Registry   string
	GHCR       bool
	// Username and Password are expressions for the registry's credentials;
	// empty for GHCR (github.token).
	Username, Password string
	Tags               string
	ReadyPath          string
	ReadyPort          string

	// ReleaseInputs and DeployInputs are the config's extra inputs.
	ReleaseInputs, DeployInputs []KV

	Manifests map[string]string // per environment
	Format    string            // manifests-format when not auto
	Root      string            // manifests-root for kustomize reading ../
}

// Step is a setup action with its inputs.
type Step struct {
	Uses string
	With []KV
}

// KV is one key and value, ordered.
type KV struct{ K, V string }

// Container is a backing service container.
type Container struct {
	Name, Image, Port, Health string
	HostPort                  string // the runner's port Port is published on
	Env                       []KV
}

// EnvPlan is one deploy environment.
type EnvPlan struct {
	Name    string
	Tag     bool // deployed on version tags, else on pushes to the default branch
	Secret  string
	Cluster string
	NS      string
	// After is the environment deployed before this one on the same
	// trigger, whose deploy job must succeed first; "" for none.
	After string
}

// plan decides the workflow from the repository and the config.
func plan(repo detect.Repository, cfg *Config, pins Pins, from map[string]source, notes *[]string) (*Plan, error) {
	if len(repo.Services) == 0 {
		return nil, &InputError{Field: "repository", Value: repo.Root, Problem: "has no service to build: no source files or project files were found", Fix: "run generate in a repository with code (requirements.txt, go.mod, package.json, pom.xml, ...), or pass its directory as the argument"}
	}
	p := &Plan{ConfigPath: ConfigPath, WorkflowPath: or(cfg.Workflow.Path, DefaultWorkflowPath), Branch: or(cfg.Branch, "main"),
		Multi: len(repo.Services) > 1, Pins: pins}
	if cfg.Action != nil {
		p.Action = *cfg.Action
	}
	if p.Action.SHA == "" {
		return nil, &InputError{Field: "deploy-action's pin", Problem: "is unknown (this build of deploy-action carries no release version and commit)", Fix: "pass --action-version vX.Y.Z --action-sha <40-hex commit>, or set action: in " + ConfigPath}
	}
	if p.Action.Repo == "" {
		p.Action.Repo = DefaultActionRepo
	}
	p.Environments = environments(cfg)
	byName := map[string]ServiceConfig{}
	for _, s := range cfg.Services {
		byName[s.Name] = s
	}
	for _, s := range cfg.Services {
		found := false
		for _, d := range repo.Services {
			found = found || d.Name == s.Name
		}
		if !found {
			src := from["services."+s.Name]
			return nil, &InputError{Field: "key \"services\"", File: src.File, Line: src.Line, Value: s.Name, Problem: "names no detected service", Fix: "use a name generate --explain shows"}
		}
	}
	for _, svc := range repo.Services {
		sp, err := servicePlan(repo, svc, byName[svc.Name], cfg, p, from, notes)
		if err != nil {
			return nil, err
		}
		p.Services = append(p.Services, sp)
		dir := sp.Context
		if sp.Dockerfile != "" {
			dir = path.Dir(sp.Dockerfile)
		}
		p.Docker = append(p.Docker, "/"+strings.TrimPrefix(path.Clean(dir), "."))
	}
	p.Docker = uniq(p.Docker)
	return p, nil
}

func environments(cfg *Config) []EnvPlan {
	envs := cfg.Environments
	if len(envs) == 0 {
		envs = []Environment{{Name: "staging"}, {Name: "production"}}
	}
	var out []EnvPlan
	for i, e := range envs {
		tag := e.On == "tag"
		if e.On == "" {
			// The last of several environments takes version tags; a single
			// one does when it is production.
			tag = len(envs) > 1 && i == len(envs)-1 || len(envs) == 1 && (e.Name == "production" || e.Name == "prod")
		}
		secret := e.KubeconfigSecret
		if secret == "" {
			secret = "KUBECONFIG_" + strings.ToUpper(strings.NewReplacer("-", "_").Replace(e.Name))
		}
		ep := EnvPlan{Name: e.Name, Tag: tag, Secret: secret, Cluster: or(e.Cluster, cfg.Cluster), NS: e.Namespace}
		for j := len(out) - 1; j >= 0; j-- {
			if out[j].Tag == tag {
				ep.After = out[j].Name
				break
			}
		}
		out = append(out, ep)
	}
	return out
}

func servicePlan(repo detect.Repository, svc detect.Service, sc ServiceConfig, cfg *Config, p *Plan, from map[string]source, notes *[]string) (ServicePlan, error) {
	sp := ServicePlan{Name: svc.Name, Dir: or(svc.Dir, "."), Language: svc.Language}
	k := "services." + svc.Name + "."
	if p.Multi {
		sp.Suffix = "-" + svc.Name
		sp.Key = svc.Name
	}
	if sc.Language != "" {
		l, ok := knownLanguages[strings.ToLower(sc.Language)]
		if !ok {
			src := from[k+"language"]
			return sp, &InputError{Field: "key \"" + k + "language\"", File: src.File, Line: src.Line, Value: sc.Language, Problem: "is not a language the generator knows", Fix: "use python, go, node or java"}
		}
		sp.Language = l
	}
	switch sp.Language {
	case detect.Python, detect.Go, detect.Node, detect.Java:
	default:
		what := "no language was detected"
		if sp.Language != "" {
			what = fmt.Sprintf("its language %q has no workflow template", sp.Language)
		}
		return sp, &InputError{Field: "service " + svc.Name, Value: sp.Dir, Problem: "cannot be built: " + what, Fix: "pass --language python|go|node|java (with --service " + svc.Name + " when there are several), or set language under services: in " + ConfigPath}
	}
	version := sc.Version
	// Go reads its version from go.mod itself (toolchain lines included).
	if version == "" && sp.Language == svc.Language && sp.Language != detect.Go {
		version = svc.LanguageVersion
	}
	if err := setup(repo.Root, &sp, version, svc.Lockfile); err != nil {
		return sp, err
	}

	// The test command: the config's, else detection's.
	test := svc.TestCommand
	if sc.TestCommand != "" {
		words, err := shlex.Split(sc.TestCommand)
		if err != nil || len(words) == 0 {
			src := from[k+"test-command"]
			return sp, &InputError{Field: "key \"" + k + "test-command\"", File: src.File, Line: src.Line, Value: sc.TestCommand, Problem: "is not a command", Fix: "write it as shell words, e.g. pytest -q"}
		}
		test = words
	}
	if len(test) > 0 {
		sp.Test = shellJoin(test)
	} else {
		*notes = append(*notes, fmt.Sprintf("service %s: no test command was found; the test job says so until test-command is set in %s", svc.Name, ConfigPath))
	}

	// Backing services, in the test job and the smoke run.
	for _, d := range svc.Dependencies {
		c, test, smoke := container(d, cfg)
		if c.Name == "" {
			continue
		}
		sp.Containers = append(sp.Containers, c)
		sp.TestEnv = append(sp.TestEnv, test...)
		sp.SmokeEnv = append(sp.SmokeEnv, smoke...)
	}
	sortKV(sp.TestEnv)
	sortKV(sp.SmokeEnv)

	// The image.
	sp.Context = path.Clean(or(sc.Context, or(svc.Dir, ".")))
	sp.Dockerfile = sc.Dockerfile
	if sp.Dockerfile == "" && svc.Existing.Dockerfile != "" && path.Clean(svc.Existing.Dockerfile) != path.Join(sp.Context, "Dockerfile") {
		sp.Dockerfile = svc.Existing.Dockerfile
	}
	if svc.Existing.Dockerfile == "" && sc.Dockerfile == "" {
		*notes = append(*notes, fmt.Sprintf("service %s: it has no Dockerfile; the release job builds %s", svc.Name, path.Join(sp.Context, "Dockerfile")))
	}
	registry := or(cfg.Registry, "docker.io")
	ns := cfg.Namespace
	if ns == "" {
		ns = remoteOwner(repo.Root)
	}
	if ns == "" {
		ns = "${{ github.repository_owner }}"
		if sc.Image == "" {
			*notes = append(*notes, fmt.Sprintf("service %s: the image's namespace is the repository's owner at run time; set namespace in %s (e.g. your Docker Hub account) so manifests can name the image", svc.Name, ConfigPath))
		}
	}
	sp.Image = sc.Image
	if sp.Image == "" {
		sp.Image = registry + "/" + ns + "/" + svc.Name
	} else if _, err := name.NewRepository(sp.Image); err != nil {
		src := from[k+"image"]
		return sp, &InputError{Field: "key \"" + k + "image\"", File: src.File, Line: src.Line, Value: sp.Image, Problem: "is not an image repository: " + err.Error(), Fix: "use registry/namespace/name, e.g. docker.io/acme/shop"}
	} else if cfg.Registry != "" {
		ref, _ := name.NewRepository(sp.Image)
		if ref.RegistryStr() != registryHost(cfg.Registry) {
			src := from[k+"image"]
			return sp, &InputError{Field: "key \"" + k + "image\" and registry", File: src.File, Line: src.Line, Value: sp.Image, Problem: "conflict: the image is on " + ref.RegistryStr() + ", not " + registryHost(cfg.Registry), Fix: "drop one of them, or name an image on the registry"}
		}
	}
	host := strings.SplitN(sp.Image, "/", 2)[0]
	sp.Registry = host
	switch host {
	case "ghcr.io":
		sp.GHCR = true
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		sp.Username, sp.Password = "${{ vars.DOCKERHUB_USERNAME }}", "${{ secrets.DOCKERHUB_TOKEN }}"
	default:
		sp.Username, sp.Password = "${{ vars.REGISTRY_USERNAME }}", "${{ secrets.REGISTRY_PASSWORD }}"
	}
	sp.ReleaseInputs, sp.DeployInputs = sortedKV(cfg.Inputs.Release), sortedKV(cfg.Inputs.Deploy)
	sp.Tags = strings.Join(orList(cfg.Tags, []string{"version", "latest"}), ",")
	sp.ReadyPath = svc.HealthPath
	if svc.Port > 0 && svc.HealthPath != "" {
		sp.ReadyPort = fmt.Sprint(svc.Port)
	}

	// The manifests, per environment.
	sp.Manifests = map[string]string{}
	base := sc.Manifests
	hasManifests := base != "" || svc.Existing.Kustomization != "" || svc.Existing.Chart != "" || len(svc.Existing.Manifests) > 0
	switch {
	case base != "":
	case svc.Existing.Kustomization != "":
		base, sp.Format = svc.Existing.Kustomization, "kustomize"
	case svc.Existing.Chart != "":
		base, sp.Format = svc.Existing.Chart, "helm"
	case len(svc.Existing.Manifests) > 0:
		base = strings.Join(svc.Existing.Manifests, ",")
	default:
		// Where the manifests part writes them: a kustomize base with an
		// overlay per environment, under deploy/ (deploy/<name>/ for a
		// service in a subdirectory).
		deployDir := "deploy"
		if p.Multi || sp.Dir != "." {
			deployDir = path.Join("deploy", svc.Name)
		}
		base, sp.Format = path.Join(deployDir, "base"), "kustomize"
		*notes = append(*notes, fmt.Sprintf("service %s: it has no Kubernetes manifests; the deploy jobs apply the overlays/<environment> beside the kustomization %s", svc.Name, base))
	}
	for _, e := range p.Environments {
		m := base
		if sp.Format == "kustomize" {
			// An overlay per environment, when the kustomization is a base
			// with overlays beside it (or will be: the manifests part
			// writes staging and production overlays).
			for _, cand := range []string{path.Join(path.Dir(base), "overlays", e.Name), path.Join(base, "overlays", e.Name)} {
				fi, err := os.Stat(filepath.Join(repo.Root, filepath.FromSlash(cand)))
				if err == nil && fi.IsDir() || !hasManifests && cand == path.Join(path.Dir(base), "overlays", e.Name) && (e.Name == "staging" || e.Name == "production") {
					m = cand
					break
				}
			}
			// A kustomization may read ../base: let it read the checkout.
			sp.Root = "."
		}
		sp.Manifests[e.Name] = m
	}
	sp.Paths = sc.Paths
	if len(sp.Paths) == 0 {
		// The service's code, and its manifests when they live elsewhere
		// (deploy/<name>/ for the manifests part's).
		sp.Paths = []string{path.Join(sp.Dir, "**")}
		mdir := strings.Split(base, ",")[0]
		if sp.Format == "kustomize" && path.Base(mdir) == "base" {
			mdir = path.Dir(mdir)
		}
		if sp.Dir != "." && mdir != sp.Dir && !strings.HasPrefix(mdir, sp.Dir+"/") {
			sp.Paths = append(sp.Paths, path.Join(mdir, "**"))
		}
	}
	if p.Multi && sp.Dir == "." {
		return sp, &InputError{Field: "service " + svc.Name, Problem: "lives at the repository root beside other services, so its changed paths cannot be told apart", Fix: "set paths: for it under services: in " + ConfigPath}
	}
	for _, s := range [][]string{{sp.Test}, sp.Install, {sp.Context, sp.Dockerfile, sp.ReadyPath}, sp.Paths} {
		for _, v := range s {
			if strings.Contains(v, "${{") {
				return sp, &InputError{Field: "service " + svc.Name, Value: v, Problem: "holds a ${{ expression, which the workflow would evaluate", Fix: "remove it from the project file or the config"}
			}
		}
	}
	return sp, nil
}

// setup picks the language's setup action, its dependency cache and the
// install commands, from the files the service has.
func setup(root string, sp *ServicePlan, version, lockfile string) error {
	dir := sp.Dir
	has := func(f string) bool {
		_, err := os.Stat(filepath.Join(root, filepath.FromSlash(path.Join(dir, f))))
		return err == nil
	}
	rel := func(f string) string { return path.Join(dir, f) }
	switch sp.Language {
	case detect.Python:
		sp.Setup = Step{Uses: SetupPython, With: []KV{{"python-version", or(version, "3.13")}, {"cache", "pip"}}}
		reqs, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(dir), "requirements*.txt"))
		sort.Strings(reqs)
		for _, r := range reqs {
			sp.Install = append(sp.Install, "python -m pip install -r "+shellQuote(filepath.Base(r)))
		}
		switch {
		case len(reqs) > 0:
			sp.Setup.With = append(sp.Setup.With, KV{"cache-dependency-path", rel("requirements*.txt")})
		case lockfile != "":
			sp.Setup.With = append(sp.Setup.With, KV{"cache-dependency-path", lockfile})
		case has("pyproject.toml"):
			sp.Setup.With = append(sp.Setup.With, KV{"cache-dependency-path", rel("pyproject.toml")})
		}
		if len(reqs) == 0 && has("pyproject.toml") {
			sp.Install = append(sp.Install, "python -m pip install "+shellQuote("."+testExtra(filepath.Join(root, filepath.FromSlash(rel("pyproject.toml"))))))
		}
	case detect.Go:
		sp.Setup = Step{Uses: SetupGo, With: []KV{{"go-version-file", rel("go.mod")}, {"cache-dependency-path", rel("go.sum")}}}
		if version != "" {
			sp.Setup.With[0] = KV{"go-version", version}
		}
		sp.Install = []string{"go mod download"}
	case detect.Node:
		sp.Setup = Step{Uses: SetupNode, With: []KV{{"node-version", or(version, "22")}}}
		switch {
		case has("pnpm-lock.yaml"):
			sp.Setup.With = append(sp.Setup.With, KV{"cache", "pnpm"}, KV{"cache-dependency-path", rel("pnpm-lock.yaml")})
			sp.Install = []string{"corepack enable", "pnpm install --frozen-lockfile"}
		case has("yarn.lock"):
			sp.Setup.With = append(sp.Setup.With, KV{"cache", "yarn"}, KV{"cache-dependency-path", rel("yarn.lock")})
			sp.Install = []string{"corepack enable", "yarn install --frozen-lockfile"}
		case has("package-lock.json"):
			sp.Setup.With = append(sp.Setup.With, KV{"cache", "npm"}, KV{"cache-dependency-path", rel("package-lock.json")})
			sp.Install = []string{"npm ci"}
		default:
			sp.Install = []string{"npm install"}
		}
	case detect.Java:
		sp.Setup = Step{Uses: SetupJava, With: []KV{{"distribution", "temurin"}, {"java-version", or(version, "21")}}}
		switch {
		case has("pom.xml"):
			sp.Setup.With = append(sp.Setup.With, KV{"cache", "maven"}, KV{"cache-dependency-path", rel("pom.xml")})
		case has("build.gradle"), has("build.gradle.kts"):
			sp.Setup.With = append(sp.Setup.With, KV{"cache", "gradle"})
		}
	}
	return nil
}

// The test database's throwaway credentials: the service container lives
// only as long as the job, so they are no secret.
const (
	testUser     = "app"
	testPassword = "app"
	testDatabase = "app"
)

// container is the service container of a backing service, the app's
// environment pointing at it from the runner (test) and from the smoke
// network (smoke).
func container(d detect.Dependency, cfg *Config) (c Container, test, smoke []KV) {
	image := cfg.ServiceImages[string(d.Kind)]
	if image == "" {
		image = scaffold.ServiceImages[d.Kind]
	}
	var port, scheme string
	switch d.Kind {
	case detect.PostgreSQL:
		c = Container{Name: "postgres", Image: image, Port: "5432", Health: "pg_isready -U " + testUser + " -d " + testDatabase,
			Env: []KV{{"POSTGRES_DB", testDatabase}, {"POSTGRES_PASSWORD", testPassword}, {"POSTGRES_USER", testUser}}}
		port, scheme = "5432", "postgresql"
	case detect.MySQL:
		c = Container{Name: "mysql", Image: image, Port: "3306", Health: "mysqladmin ping -h 127.0.0.1 -u " + testUser + " -p" + testPassword,
			Env: []KV{{"MYSQL_DATABASE", testDatabase}, {"MYSQL_PASSWORD", testPassword}, {"MYSQL_RANDOM_ROOT_PASSWORD", "yes"}, {"MYSQL_USER", testUser}}}
		port, scheme = "3306", "mysql"
	case detect.Redis:
		c = Container{Name: "redis", Image: image, Port: "6379", Health: "redis-cli ping"}
		port, scheme = "6379", "redis"
	default:
		return Container{}, nil, nil
	}
	c.HostPort = port
	if p := cfg.ServicePorts[string(d.Kind)]; p != 0 {
		c.HostPort = strconv.Itoa(p)
	}
	vars := d.Env
	if len(vars) == 0 {
		vars = []string{map[detect.DependencyKind]string{detect.PostgreSQL: "DATABASE_URL", detect.MySQL: "DATABASE_URL", detect.Redis: "REDIS_URL"}[d.Kind]}
	}
	for _, v := range vars {
		if t := envValue(d.Kind, v, "localhost", c.HostPort, scheme); t != "" {
			test = append(test, KV{v, t})
			smoke = append(smoke, KV{v, envValue(d.Kind, v, c.Name, port, scheme)})
		}
	}
	return c, test, smoke
}

// envValue is the value of an app variable reaching a backing service at
// host, guessed from the variable's name; "" when the name says nothing.
func envValue(kind detect.DependencyKind, v, host, port, scheme string) string {
	u := strings.ToUpper(v)
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.HasSuffix(u, x) || strings.Contains(u, x+"_") {
				return true
			}
		}
		return false
	}
	switch {
	case has("URL", "URI", "DSN"):
		if kind == detect.Redis {
			return fmt.Sprintf("redis://%s:%s/0", host, port)
		}
		return fmt.Sprintf("%s://%s:%s@%s:%s/%s", scheme, testUser, testPassword, host, port, testDatabase)
	case has("HOST", "SERVER", "ADDR"):
		return host
	case has("PORT"):
		return port
	case kind == detect.Redis:
		return ""
	case has("PASSWORD", "PASS", "PWD"):
		return testPassword
	case has("USER", "USERNAME"):
		return testUser
	case has("NAME", "DB", "DATABASE"):
		return testDatabase
	}
	return ""
}

func sortedKV(m map[string]string) []KV {
	var out []KV
	for k, v := range m {
		out = append(out, KV{k, v})
	}
	sortKV(out)
	return out
}

func sortKV(kv []KV) {
	sort.SliceStable(kv, func(i, j int) bool { return kv[i].K < kv[j].K })
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

func orList(s, def []string) []string {
	if len(s) > 0 {
		return s
	}
	return def
}

func uniq(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// shellJoin quotes argv for a bash run: step.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// testExtra is "[name]" for the optional dependencies of a pyproject.toml
// that hold the test tools (test, tests or dev), "" when there are none.
func testExtra(file string) string {
	var pp struct {
		Project struct {
			Optional map[string][]string `toml:"optional-dependencies"`
		} `toml:"project"`
	}
	if _, err := toml.DecodeFile(file, &pp); err != nil {
		return ""
	}
	for _, k := range []string{"test", "tests", "testing", "dev"} {
		if _, ok := pp.Project.Optional[k]; ok {
			return "[" + k + "]"
		}
	}
	return ""
}
