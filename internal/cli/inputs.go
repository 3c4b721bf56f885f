package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/deploy-action/deploy-action/pkg/apply"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/policy"
	"github.com/deploy-action/deploy-action/pkg/smoke"
	"github.com/deploy-action/deploy-action/pkg/textlist"
)

// input is one setting that is both a CLI flag and an action input, under the
// same name. action.yml is checked against this table by a test, so the two
// faces cannot drift apart.
type input struct {
	name    string
	group   string // the stage it configures, for action.yml and --help
	usage   string
	def     string // the default, as text (as action.yml states it)
	kind    kind
	secret  bool
	actions string // the default inside GitHub Actions, when it differs (e.g. ${{ github.token }})
}

type kind int

const (
	kindString kind = iota
	kindBool
	kindList  // newline- or comma-separated
	kindLines // newline-separated only (values may hold commas: KEY=VALUE pairs)
	kindYAML  // a YAML document, a string to the flags
)

var inputs = []input{
	{name: "stages", group: "run", def: "auto", kind: kindList, usage: "stages to run, in pipeline order: build, test, push, deploy; auto is build,test,push, plus deploy when \"manifests\" is set"},
	{name: "from", group: "run", usage: "image to use when the build stage does not run: oci:DIR, tarball:FILE or docker:NAME"},
	{name: "output", group: "run", usage: "write the built image to this OCI layout directory"},
	{name: "docker-host", group: "run", usage: "Docker engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)"},
	{name: inputRequestTimeout, group: "run", def: "30s", usage: "how long a registry or the Kubernetes API server may take to answer one request before it counts as not answering"},

	{name: "context", group: "build", def: ".", usage: "build context directory for a Dockerfile build"},
	{name: "dockerfile", group: "build", usage: "path to the Dockerfile (default: <context>/Dockerfile)"},
	{name: "target", group: "build", usage: "Dockerfile stage to build"},
	{name: "build-args", group: "build", kind: kindLines, usage: "build arguments, KEY=VALUE, one per line (they stay in the image's history: secrets go in build-secrets)"},
	{name: inputBuildSecrets, group: "build", kind: kindLines, secret: true, usage: "BuildKit secrets for RUN --mount=type=secret,id=ID, one per line: id=ID,env=VARIABLE or id=ID,src=FILE; masked, and never in the image"},
	{name: "labels", group: "build", kind: kindLines, usage: "extra image labels, KEY=VALUE, one per line"},
	{name: "no-cache", group: "build", kind: kindBool, def: "false", usage: "build without the build cache"},
	{name: "base", group: "build", usage: "daemonless build: base image (scratch, a registry reference, oci:DIR or tarball:FILE)"},
	{name: "layers", group: "build", kind: kindLines, usage: "daemonless build: layers to add, SOURCE:TARGET[,mode=0755][,owner=UID:GID], one per line"},
	{name: "entrypoint", group: "build", kind: kindLines, usage: "daemonless build: entrypoint, one argument per line"},
	{name: "cmd", group: "build", kind: kindLines, usage: "daemonless build: command, one argument per line"},
	{name: "workdir", group: "build", usage: "daemonless build: working directory"},
	{name: "env", group: "build", kind: kindLines, usage: "daemonless build: environment, KEY=VALUE, one per line"},
	{name: "user", group: "build", usage: "daemonless build: user to run as (UID[:GID] or name)"},
	{name: "ports", group: "build", kind: kindList, usage: "daemonless build: exposed ports, e.g. 8000 or 8000/tcp"},

	{name: "version", group: "tag", usage: "release version, for the \"version\" tag policy and the version label (the seed's <namespace>/<name>:<version>)"},
	{name: "tags", group: "tag", def: "auto", kind: kindList, usage: "tag policies: auto, version, latest, run, sha, semver, branch, pr"},
	{name: "raw-tags", group: "tag", kind: kindList, usage: "extra tags, used as they are"},
	{name: "title", group: "tag", usage: "image title label (default: the repository name)"},

	{name: "test-policy", group: "test", kind: kindList, usage: "policy checks and their modes, CHECK=fail|warn|off (checks: user, secrets, size, labels, ports, exec; all=MODE sets every one); unlisted checks keep their defaults: user, secrets and exec fail, size, labels and ports warn"},
	{name: "size-budget", group: "test", def: "1GB", usage: "largest compressed image size for the size check, e.g. 300MB or 1GiB"},
	{name: "required-labels", group: "test", def: strings.Join(policy.DefaultLabels, ","), kind: kindList, usage: "labels the labels check requires, non-empty"},
	{name: "secrets-allow", group: "test", kind: kindList, usage: "paths whose secret findings are ignored (path.Match patterns, DIR/** for a tree), e.g. /app/tests/fixtures/**"},
	{name: "structure-tests", group: "test", kind: kindList, usage: "container-structure-test files (schema 2.0.0) to run against the image; globs allowed"},
	{name: "smoke", group: "test", def: string(imagetest.SmokeAuto), usage: "smoke run through the Docker engine: true, false, or auto (run when an engine answers)"},
	{name: "services", group: "test", kind: kindYAML, secret: true, usage: "containers to start before the image on a private network, as YAML: NAME: {image, env, secrets, command, healthcheck}; the image reaches each by NAME; env holds plain settings, secrets the masked ones"},
	{name: "smoke-env", group: "test", kind: kindLines, usage: "the image's plain settings in the smoke run, NAME=value per line, never masked (secrets go in smoke-secrets)"},
	{name: "smoke-secrets", group: "test", kind: kindLines, secret: true, usage: "the image's secret environment in the smoke run, NAME=value per line, every value masked (at least 4 characters)"},
	{name: "ready-path", group: "test", usage: "HTTP path that answers 2xx once the image is ready, e.g. /readyz (default: the image's HEALTHCHECK)"},
	{name: "ready-port", group: "test", usage: "container port of ready-path, or HOST:CONTAINER for a fixed loopback port (default: the port the image exposes)"},
	{name: "test-command", group: "test", usage: `command run in a second container of the image once it is ready, with the services and the image (as "app") reachable by name; JSON array or shell-like words`},
	{name: "grace-period", group: "test", def: smoke.DefaultGracePeriod.String(), usage: "how long the image may take to exit after SIGTERM (or its STOPSIGNAL)"},
	{name: "test-timeout", group: "test", def: smoke.DefaultTimeout.String(), usage: "bound of each wait of the smoke run (services, readiness, test command) and of each command test"},
	{name: "junit", group: "test", usage: "write the test report as JUnit XML to this file"},

	{name: "images", group: "push", kind: kindList, usage: "repositories to push to, e.g. docker.io/<namespace>/<name>, ghcr.io/<owner>/<name>"},
	{name: "username", group: "push", usage: "registry username"},
	{name: "password", group: "push", secret: true, usage: "registry password or access token (masked)"},
	{name: "registry", group: "push", usage: "registry the username and password are for (default: the first image's)"},
	{name: "github-token", group: "push", secret: true, actions: "${{ github.token }}", usage: "token for ghcr.io pushes (masked)"},
	{name: "registry-ca", group: "push", usage: "PEM file of an extra CA to trust for registries with private TLS"},
	{name: "insecure-registries", group: "push", kind: kindList, usage: "registries to reach over plain HTTP (loopback ones always may)"},

	{name: "manifests", group: "deploy", kind: kindList, usage: "the release's manifests: YAML files, directories or globs, a kustomization directory, or a Helm chart"},
	{name: "manifests-root", group: "deploy", usage: "directory the manifests may read files from, e.g. a kustomization's ../base (default in Actions: the workspace; elsewhere: each kustomization's own directory)"},
	{name: "manifests-format", group: "deploy", def: "auto", usage: "how to read \"manifests\": auto, yaml, kustomize or helm"},
	{name: "helm-release", group: "deploy", usage: "Helm release name (default: the chart's name)"},
	{name: "helm-values", group: "deploy", kind: kindList, usage: "Helm values files, later ones winning (helm -f)"},
	{name: "helm-set", group: "deploy", kind: kindLines, usage: "Helm values, a.b=c, one per line (helm --set); never masked: secrets go in helm-set-secrets"},
	{name: "helm-set-secrets", group: "deploy", kind: kindLines, secret: true, usage: "secret Helm values, a.b=c, one per line, taken as written (helm --set-literal: a value may hold commas); masked"},
	{name: "namespace", group: "deploy", usage: "namespace of objects that name none (default: the kubeconfig context's)"},
	{name: "image-map", group: "deploy", kind: kindLines, usage: "images to pin besides the pushed one: SOURCE=TARGET@sha256:... or REPOSITORY@sha256:..., one per line (a build job's \"refs\" output fits)"},
	{name: "pin-unmatched", group: "deploy", def: "error", usage: "when an image to pin matches no container: error or warn"},
	{name: inputManifestPolicy, group: "deploy", kind: kindList, usage: "manifest checks run before anything is applied, and their modes, CHECK=fail|warn|off (checks: secrets, digest, latest, migrations, database-volume, exposed-admin, probes, resources, baseline, restricted, pdb; all=MODE sets every one); unlisted checks keep their defaults: secrets fails, the rest warn. An object opts out of one with the annotation manifest-policy.deploy-action/skip-CHECK, whose value gives the reason"},
	{name: inputManifestPolicyAllow, group: "deploy", kind: kindList, usage: "objects the manifest checks let through, [CHECK:]KIND/NAMESPACE/NAME with * for any part, e.g. Deployment/shop/postgres or probes:Deployment/*/worker"},
	{name: "kubeconfig", group: "deploy", secret: true, usage: "kubeconfig content, YAML or base64 (masked; never written to disk)"},
	{name: "kubeconfig-file", group: "deploy", usage: "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)"},
	{name: "kube-context", group: "deploy", usage: "kubeconfig context (default: its current-context)"},
	{name: "in-cluster", group: "deploy", kind: kindBool, def: "false", usage: "use the service account of the pod this runs in"},
	{name: "create-namespace", group: "deploy", kind: kindBool, def: "false", usage: "create \"namespace\" when it does not exist"},
	{name: "field-manager", group: "deploy", def: apply.DefaultFieldManager, usage: "server-side apply field manager"},
	{name: "force-conflicts", group: "deploy", kind: kindBool, def: "false", usage: "take over fields another field manager owns instead of failing"},
	{name: "dry-run", group: "deploy", kind: kindBool, def: "false", usage: "have the API server check every object and store nothing"},
	{name: "rollout-timeout", group: "deploy", def: "5m", usage: "how long the rollout may take when no failure shows (a failure ends it at once)"},
	{name: "rollout-grace", group: "deploy", def: "30s", usage: "how long pods may stay unready, or be refused (quota), before that is a failure"},
	{name: "rollback", group: "deploy", kind: kindBool, def: "true", usage: "when the rollout or the apply fails, put the whole release back: objects it created deleted, objects it changed restored, workloads at their previous revision"},
	{name: "prune", group: "deploy", kind: kindBool, def: "false", usage: "after a release that rolled out, delete the objects earlier releases applied that the manifests no longer have; only members of the release's ApplySet (label applyset.kubernetes.io/part-of) are ever deleted"},
	{name: "applyset", group: "deploy", def: apply.DefaultApplySet, usage: "name of the Secret, in \"namespace\", that records what the release owns for \"prune\" (a Kubernetes ApplySet parent); give each release sharing a namespace its own"},
}

func lookupInput(name string) input {
	for _, in := range inputs {
		if in.name == name {
			return in
		}
	}
	panic("unknown input " + name)
}

// listValue is a pflag.Value that collects items from repeated flags and from
// multi-line action inputs.
type listValue struct {
	items []string
	comma bool
	set   bool
}

func (l *listValue) Set(v string) error {
	if !l.set {
		l.items, l.set = nil, true // the first explicit value replaces the default
	}
	if l.comma {
		l.items = append(l.items, textlist.Split(v)...)
	} else {
		l.items = append(l.items, textlist.Lines(v)...)
	}
	return nil
}
func (l *listValue) String() string { return strings.Join(l.items, ",") }
func (l *listValue) Type() string   { return "list" }

// values holds the flags of one command.
type values struct {
	fs      *pflag.FlagSet
	strings map[string]*string
	bools   map[string]*bool
	lists   map[string]*listValue
}

// addInputs registers the named inputs as flags.
func addInputs(fs *pflag.FlagSet, names ...string) *values {
	v := &values{fs: fs, strings: map[string]*string{}, bools: map[string]*bool{}, lists: map[string]*listValue{}}
	for _, n := range names {
		in := lookupInput(n)
		switch in.kind {
		case kindString, kindYAML:
			v.strings[n] = fs.String(n, in.def, in.usage)
		case kindBool:
			b, _ := strconv.ParseBool(in.def)
			v.bools[n] = fs.Bool(n, b, in.usage)
		case kindList, kindLines:
			l := &listValue{comma: in.kind == kindList}
			if in.def != "" {
				_ = l.Set(in.def)
				l.set = false
			}
			v.lists[n] = l
			fs.Var(l, n, in.usage)
		}
	}
	return v
}

// fromActions fills every flag the command line did not set from its action
// input (INPUT_<NAME>), so `deploy-action run` inside the action reads the
// workflow's `with:` block and a terminal run reads only its flags.
func (v *values) fromActions(getInput func(string) string) error {
	var err error
	v.fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		val := getInput(f.Name)
		if val == "" {
			return
		}
		if e := v.fs.Set(f.Name, val); e != nil {
			err = fmt.Errorf("input %q: %w", f.Name, e)
		}
	})
	return err
}

func (v *values) str(n string) string    { return strings.TrimSpace(*v.strings[n]) }
func (v *values) boolean(n string) bool  { return *v.bools[n] }
func (v *values) list(n string) []string { return v.lists[n].items }
func (v *values) changed(n string) bool  { return v.fs.Changed(n) }
func (v *values) has(n string) bool      { return v.fs.Lookup(n) != nil }

// text returns an input as the text an action input would hold: lists one
// item per line, "" for inputs the command does not have.
func (v *values) text(n string) string {
	switch {
	case v.strings[n] != nil:
		return *v.strings[n]
	case v.lists[n] != nil:
		return strings.Join(v.lists[n].items, "\n")
	case v.bools[n] != nil:
		return strconv.FormatBool(*v.bools[n])
	}
	return ""
}

// keyValues parses KEY=VALUE lines of the named input.
func (v *values) keyValues(n string) (map[string]string, error) {
	items := v.list(n)
	if len(items) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(items))
	for _, item := range items {
		k, val, ok := strings.Cut(item, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("input %q: %q is not KEY=VALUE; write one KEY=VALUE per line", n, item)
		}
		m[strings.TrimSpace(k)] = val
	}
	return m, nil
}
