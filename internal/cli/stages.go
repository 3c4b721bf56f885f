package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/deploy-action/deploy-action/pkg/build"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/build/layers"
	"github.com/deploy-action/deploy-action/pkg/deploy"
	"github.com/deploy-action/deploy-action/pkg/engine"
	"github.com/deploy-action/deploy-action/pkg/imagesource"
	"github.com/deploy-action/deploy-action/pkg/imagetest"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/manifestpolicy"
	"github.com/deploy-action/deploy-action/pkg/metadata"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
	"github.com/deploy-action/deploy-action/pkg/push"
	"github.com/deploy-action/deploy-action/pkg/render"
)

var (
	buildInputs = []string{"output", "docker-host", "context", "dockerfile", "target", "build-args", "labels", "no-cache",
		"base", "layers", "entrypoint", "cmd", "workdir", "env", "user", "ports", "version", "title",
		inputRequestTimeout, "insecure-registries"}
	testInputs = append([]string{"from", "docker-host"}, groupInputs("test")...)
	pushInputs = []string{"from", "docker-host", inputRequestTimeout, "version", "tags", "raw-tags", "title", "images", "username", "password",
		"registry", "github-token", "registry-ca", "insecure-registries"}
	deployInputs = append(groupInputs("deploy"), inputRequestTimeout)
)

const inputRequestTimeout = "request-timeout"

// requestTimeout reads "request-timeout"; 0 when the command has no such input.
func (v *values) requestTimeout() (time.Duration, error) {
	return positiveDuration(inputRequestTimeout, v.strOr(inputRequestTimeout))
}

func groupInputs(group string) []string {
	var n []string
	for _, in := range inputs {
		if in.group == group {
			n = append(n, in.name)
		}
	}
	return n
}

func allInputNames() []string {
	n := make([]string, len(inputs))
	for i, in := range inputs {
		n[i] = in.name
	}
	return n
}

func newTestCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "test",
		Short: "Test an image before it ships: policy checks, structure tests, a smoke run with services",
		Example: `  deploy-action test --from docker:shop:dev --ready-path /readyz \
    --services 'db: {image: postgres:17, env: {POSTGRES_PASSWORD: pw}}' \
    --smoke-env DATABASE_URL=postgresql://postgres:pw@db/postgres --junit report.xml`,
		Args: cobra.NoArgs,
	}
	v := addInputs(c.Flags(), testInputs...)
	c.RunE = func(c *cobra.Command, _ []string) error {
		return e.runStages(c.Context(), v, []pipeline.Stage{pipeline.Test})
	}
	return c
}

func newRunCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline's stages (what the action runs)",
		Example: `  deploy-action run --stages build,push --context . \
    --images docker.io/acme/shop --version 1.4.0 --tags version,latest`,
		Args: cobra.NoArgs,
	}
	v := addInputs(c.Flags(), allInputNames()...)
	c.RunE = func(c *cobra.Command, _ []string) error { return e.runStages(c.Context(), v, nil) }
	return c
}

func newBuildCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "build",
		Short: "Build an image from a Dockerfile (BuildKit) or from files on a base image (daemonless)",
		Example: `  deploy-action build --context . --output dist/image
  deploy-action build --base scratch --layers ./bin/app:/app --entrypoint /app --output dist/image`,
		Args: cobra.NoArgs,
	}
	v := addInputs(c.Flags(), buildInputs...)
	c.RunE = func(c *cobra.Command, _ []string) error {
		return e.runStages(c.Context(), v, []pipeline.Stage{pipeline.Build})
	}
	return c
}

func newPushCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "push",
		Short: "Push an image to every registry at once, with its tags",
		Example: `  deploy-action push --from oci:dist/image --images docker.io/acme/shop,ghcr.io/acme/shop \
    --version 1.4.0 --tags version,latest`,
		Args: cobra.NoArgs,
	}
	v := addInputs(c.Flags(), pushInputs...)
	c.RunE = func(c *cobra.Command, _ []string) error {
		return e.runStages(c.Context(), v, []pipeline.Stage{pipeline.Push})
	}
	return c
}

func newRolloutCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "rollout",
		Short: "Deploy manifests to Kubernetes: render, pin by digest, apply, watch to a verdict, roll back on failure",
		Long: `rollout renders the manifests (YAML, a kustomization or a Helm chart), pins their images to
the digests of "image-map", applies them with server-side apply, and watches every workload until it
is ready or a cause of failure shows (image pull, crash loop, OOM, missing Secret, scheduling, probes,
quota, deadline). A failed rollout is rolled back to the previous revision, and the restore is watched
too. The exit code is 0 only when the release rolled out.`,
		Example: `  deploy-action rollout --manifests k8s/ --namespace shop \
    --image-map docker.io/acme/shop@sha256:4c1e...
  deploy-action rollout --manifests chart/ --helm-values prod.yaml --helm-set replicas=3 --dry-run`,
		Args: cobra.NoArgs,
	}
	v := addInputs(c.Flags(), deployInputs...)
	c.RunE = func(c *cobra.Command, _ []string) error {
		return e.runStages(c.Context(), v, []pipeline.Stage{pipeline.Deploy})
	}
	return c
}

// runStages turns the command's values into a pipeline and runs it. stages is
// nil for `run`, which reads the "stages" input.
func (e *env) runStages(ctx context.Context, v *values, stages []pipeline.Stage) error {
	if e.rep.InActions() {
		if err := v.fromActions(e.rep.Action().GetInput); err != nil {
			return err
		}
	}
	// Secrets first: nothing may be printed before they are registered.
	if err := e.registerSecrets(v); err != nil {
		return err
	}
	if v.has("kubeconfig-file") {
		// The content input's credentials are registered above; these are
		// those of the file it would otherwise read.
		access := kube.Access{Kubeconfig: v.strOr("kubeconfig-file"), InCluster: v.boolean("in-cluster")}
		for _, c := range kube.AccessSecrets(access, e.getenv) {
			e.rep.Secret(c)
		}
	}
	e.warnSecretNames(v)
	if stages == nil {
		list := v.list("stages")
		if len(list) == 1 && list[0] == "auto" {
			list = []string{"build", "test", "push"}
			if len(v.list("manifests")) > 0 {
				list = append(list, "deploy")
			}
		}
		var err error
		if stages, err = pipeline.ParseStages(list); err != nil {
			return nameInput(err)
		}
	}
	var closers []io.Closer
	// The BuildKit backend keeps the built image's layers in temporary files
	// until the push has read them; the tester holds an engine connection.
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i].Close()
		}
	}()
	cfg, err := e.config(v, stages, &closers)
	if err != nil {
		return nameInput(err)
	}
	res, err := pipeline.Run(ctx, cfg, e.rep)
	err = nameInput(err)
	if jerr := e.writeJUnit(v, res); jerr != nil && err == nil {
		err = jerr
	}
	if cfg.Output != "" {
		if _, serr := os.Stat(cfg.Output); serr == nil {
			if oerr := e.rep.Own(cfg.Output); oerr != nil && err == nil {
				err = fmt.Errorf("input \"output\": %w", oerr)
			}
		}
	}
	e.reportResult(res, err)
	return err
}

// writeJUnit writes the test report for CI test reporters when "junit" is
// set, masked and owned by the workspace's owner.
func (e *env) writeJUnit(v *values, res *pipeline.Result) error {
	path := v.strOr("junit")
	if path == "" || res == nil || res.Test == nil {
		return nil
	}
	if err := e.rep.WriteFile(path, res.Test.JUnit); err != nil {
		return fmt.Errorf("input \"junit\": writing %s: %w; give a writable file path", path, err)
	}
	return nil
}

// checkWritable fails now, naming the input, when path could not be written
// at the end of the run: a release that succeeded must not exit 1 over a
// report's path. It leaves nothing behind.
func checkWritable(input, path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("input %q: %s is a directory; give a file path, e.g. %s", input, path, filepath.Join(path, "report.xml"))
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("input %q: the directory %s of %s does not exist; create it first or give a path in an existing directory", input, dir, path)
	}
	f, err := os.CreateTemp(dir, ".deploy-action-check-*")
	if err != nil {
		return fmt.Errorf("input %q: cannot write in %s (%v); give a path in a writable directory", input, dir, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// tester makes the test stage from its inputs.
func (e *env) tester(v *values) (*imagetest.Tester, error) {
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	cfg, err := testConfig(v.text, dir)
	if err != nil {
		return nil, err
	}
	api, err := e.dockerClient(v)
	if err != nil {
		return nil, err
	}
	opts := []imagetest.Option{imagetest.WithLog(e.writer()), imagetest.WithMasker(e.rep.Masker()), imagetest.WithGetenv(e.getenv), imagetest.WithDockerClient(api),
		imagetest.WithFieldNames(inputNames)}
	// Inside a Docker action the engine publishes ports on the host's loopback,
	// which is not this container's: the readiness probe joins the run's
	// network from this container instead.
	if e.rep.InActions() && e.getenv("HOSTNAME") != "" {
		if _, err := os.Stat("/.dockerenv"); err == nil {
			opts = append(opts, imagetest.WithProbeFrom(e.getenv("HOSTNAME")))
		}
	}
	return imagetest.New(cfg, opts...)
}

// config makes the run's Config from the inputs; what must be closed after
// the run is added to closers.
func (e *env) config(v *values, stages []pipeline.Stage, closers *[]io.Closer) (pipeline.Config, error) {
	cfg := pipeline.Config{Stages: stages, Names: inputNames}
	ghctx, err := e.rep.Action().Context()
	if err != nil {
		return cfg, fmt.Errorf("reading the GitHub Actions context: %w", err)
	}
	mctx := metadata.FromGitHub(ghctx)
	created, err := e.created()
	if err != nil {
		return cfg, err
	}
	cfg.Meta = pipeline.Meta{
		Context: mctx,
		Version: v.strOr("version"),
		Title:   v.strOr("title"),
		Created: created,
	}
	if _, ok := v.lists["tags"]; ok {
		cfg.Meta.Policies = v.list("tags")
		cfg.Meta.RawTags = v.list("raw-tags")
	}
	if _, ok := v.lists["images"]; ok {
		cfg.Images = v.list("images")
		if cfg.Meta.Title == "" && len(cfg.Images) > 0 {
			cfg.Meta.Title = path.Base(cfg.Images[0])
		}
	}
	if cfg.Meta.Title == "" && mctx.Repository != "" {
		cfg.Meta.Title = path.Base(mctx.Repository)
	}

	for _, s := range stages {
		switch s {
		case pipeline.Build:
			if cfg.Builder, err = e.builder(v, closers); err != nil {
				return cfg, err
			}
			cfg.Output = v.strOr("output")
		case pipeline.Test:
			if p := v.strOr("junit"); p != "" {
				if err := checkWritable("junit", p); err != nil {
					return cfg, err
				}
			}
			t, err := e.tester(v)
			if err != nil {
				return cfg, err
			}
			*closers = append(*closers, t)
			cfg.Tester = t
		case pipeline.Push:
			opts, err := e.pushOptions(v)
			if err != nil {
				return cfg, err
			}
			if cfg.Pusher, err = push.New(opts...); err != nil {
				return cfg, err
			}
		case pipeline.Deploy:
			if cfg.Deployer, err = e.deployer(v); err != nil {
				return cfg, err
			}
		}
	}
	if from := v.strOr("from"); from != "" {
		if cfg.Source, err = e.sourceFunc(from, v); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.Validate()
}

// created is the image's creation time: SOURCE_DATE_EPOCH when set, so that
// builds are reproducible, else now.
func (e *env) created() (time.Time, error) {
	s := e.getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Now().UTC(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a Unix time in seconds; set it to e.g. $(git log -1 --format=%%ct)", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// builder makes the build stage from its inputs; a BuildKit builder is added
// to closers.
func (e *env) builder(v *values, closers *[]io.Closer) (build.Interface, error) {
	labels, err := v.keyValues("labels")
	if err != nil {
		return nil, err
	}
	daemonless := v.strOr("base") != "" || len(v.list("layers")) > 0
	if daemonless {
		for _, n := range []string{"dockerfile", "target", "build-args", inputBuildSecrets, "no-cache"} {
			if v.changed(n) {
				return nil, fmt.Errorf("input %q is for Dockerfile builds, but \"base\"/\"layers\" ask for a daemonless build; use one or the other", n)
			}
		}
		spec := layers.Spec{
			Base:       v.strOr("base"),
			Workdir:    v.strOr("workdir"),
			Entrypoint: v.list("entrypoint"),
			Cmd:        v.list("cmd"),
			Env:        v.list("env"),
			User:       v.strOr("user"),
			Ports:      v.list("ports"),
			Labels:     labels,
		}
		if spec.Base == "" {
			spec.Base = "scratch"
		}
		for _, l := range v.list("layers") {
			layer, err := layers.ParseLayer(l)
			if err != nil {
				return nil, err
			}
			spec.Layers = append(spec.Layers, layer)
		}
		opts := []layers.Option{layers.WithGetenv(e.getenv)}
		// The base may come from a registry: the same bounded waits and
		// plain-HTTP rule as the push.
		d, err := v.requestTimeout()
		if err != nil {
			return nil, err
		}
		if d > 0 {
			opts = append(opts, layers.WithRequestTimeout(d))
		}
		if v.has("insecure-registries") {
			opts = append(opts, layers.WithInsecure(v.list("insecure-registries")...))
		}
		return layers.New(spec, opts...)
	}
	for _, n := range []string{"entrypoint", "cmd", "workdir", "env", "user", "ports"} {
		if v.changed(n) {
			return nil, fmt.Errorf("input %q is for daemonless builds (with \"base\" and \"layers\"); in a Dockerfile build set it in the Dockerfile", n)
		}
	}
	args, err := v.keyValues("build-args")
	if err != nil {
		return nil, err
	}
	api, err := e.dockerClient(v)
	if err != nil {
		return nil, err
	}
	opts := []dockerfile.Option{dockerfile.WithProgress(e.writer()), dockerfile.WithDockerClient(api), dockerfile.WithGetenv(e.getenv),
		dockerfile.WithFieldNames(inputNames)}
	secrets, err := e.buildSecrets(v.text(inputBuildSecrets))
	if err != nil {
		return nil, err
	}
	for _, s := range secrets {
		opts = append(opts, dockerfile.WithSecret(s.id, s.value))
	}
	b, err := dockerfile.New(dockerfile.Request{
		ContextDir: v.strOr("context"),
		Dockerfile: v.strOr("dockerfile"),
		Target:     v.strOr("target"),
		BuildArgs:  args,
		Labels:     labels,
		NoCache:    v.boolean("no-cache"),
	}, opts...)
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, b)
	return b, nil
}

func (e *env) pushOptions(v *values) ([]push.Option, error) {
	images := v.list("images")
	var creds []push.Credential
	user, pass := v.strOr("username"), v.strOr("password")
	if (user == "") != (pass == "") {
		return nil, errors.New(`inputs "username" and "password" go together; set both, or neither to use the Docker config file`)
	}
	if user != "" {
		reg := v.strOr("registry")
		if reg == "" && len(images) > 0 {
			repo, err := name.NewRepository(images[0])
			if err != nil {
				return nil, fmt.Errorf("input \"images\": %q is not a valid repository (%v); use \"<registry>/<namespace>/<name>\"", images[0], err)
			}
			reg = repo.RegistryStr()
		}
		creds = append(creds, push.Credential{Registry: reg, Username: user, Password: pass})
	}
	getenv := e.getenv
	if tok := v.strOr("github-token"); tok != "" {
		getenv = func(k string) string {
			if k == "GITHUB_TOKEN" {
				return tok
			}
			return e.getenv(k)
		}
	}
	w := e.writer()
	opts := []push.Option{push.WithKeychain(push.Keychain(getenv, creds...)), push.WithProgress(w), push.WithMasker(e.rep.Masker()),
		push.WithWarnings(func(s string) { e.rep.Warnf("%s", s) }), push.WithFieldNames(inputNames)}
	if d, err := v.requestTimeout(); err != nil {
		return nil, err
	} else if d > 0 {
		opts = append(opts, push.WithRequestTimeout(d))
	}
	if ca := v.strOr("registry-ca"); ca != "" {
		opts = append(opts, push.WithCAFile(ca))
	}
	if ins := v.list("insecure-registries"); len(ins) > 0 {
		opts = append(opts, push.WithInsecure(ins...))
	}
	return opts, nil
}

// deployer makes the deploy stage from its inputs; it contacts nothing yet.
func (e *env) deployer(v *values) (*deploy.Deployer, error) {
	if len(v.list("manifests")) == 0 {
		return nil, errors.New(`input "manifests" is empty; give the release's manifests: YAML files, directories or globs (k8s/), a kustomization directory, or a Helm chart`)
	}
	format := render.Format(strings.ToLower(v.strOr("manifests-format")))
	switch format {
	case "", render.Auto, render.YAML, render.Kustomize, render.Helm:
	default:
		return nil, fmt.Errorf(`input "manifests-format": unknown format %q; use auto, yaml, kustomize or helm`, format)
	}
	imageMap, err := pin.ParseMappings(strings.Join(v.list("image-map"), "\n"))
	if err != nil {
		return nil, err // it names the input and the line
	}
	duration := func(n string) (*time.Duration, error) {
		d, err := time.ParseDuration(v.strOr(n))
		if err != nil {
			return nil, fmt.Errorf("input %q: %q is not a duration; write e.g. 90s, 5m or 1h", n, v.strOr(n))
		}
		return &d, nil
	}
	policy, err := manifestPolicy(v)
	if err != nil {
		return nil, err
	}
	timeout, err := duration("rollout-timeout")
	if err != nil {
		return nil, err
	}
	grace, err := duration("rollout-grace")
	if err != nil {
		return nil, err
	}
	cfg := deploy.Config{
		Access: kube.Access{
			Kubeconfig:     v.strOr("kubeconfig-file"),
			KubeconfigData: v.strOr("kubeconfig"),
			Context:        v.strOr("kube-context"),
			InCluster:      v.boolean("in-cluster"),
		},
		Manifests: render.Spec{
			Paths:       v.list("manifests"),
			Format:      format,
			ReleaseName: v.strOr("helm-release"),
			ValuesFiles: v.list("helm-values"),
			Values:      v.list("helm-set"),
			// One per line, as written: a secret may hold commas.
			SecretValues: v.list("helm-set-secrets"),
		},
		ImageMap:        imageMap,
		Unmatched:       pin.Policy(strings.ToLower(v.strOr("pin-unmatched"))),
		Namespace:       v.strOr("namespace"),
		CreateNamespace: v.boolean("create-namespace"),
		FieldManager:    v.strOr("field-manager"),
		ForceConflicts:  v.boolean("force-conflicts"),
		DryRun:          v.boolean("dry-run"),
		Timeout:         timeout,
		Grace:           grace,
		Rollback:        v.boolean("rollback"),
		Prune:           v.boolean("prune"),
		ApplySet:        v.strOr("applyset"),
		Policy:          policy,
	}
	w := e.writer()
	kopts := []kube.Option{kube.WithGetenv(e.getenv), kube.WithUserAgent("deploy-action/" + version), kube.WithWarnings(w)}
	if d, err := v.requestTimeout(); err != nil {
		return nil, err
	} else if d > 0 {
		kopts = append(kopts, kube.WithRequestTimeout(d))
	}
	opts := []deploy.Option{deploy.WithLog(w), deploy.WithKubeOptions(kopts...), deploy.WithFieldNames(inputNames)}
	root := v.strOr("manifests-root")
	if root == "" && e.rep.InActions() {
		// The checkout: a kustomization there may use its ../base.
		root = e.getenv("GITHUB_WORKSPACE")
	}
	if root != "" {
		opts = append(opts, deploy.WithRenderOptions(render.WithRoot(root)))
	}
	d, err := deploy.New(cfg, opts...)
	return d, policyInputError(err)
}

// The manifest policy's inputs.
const (
	inputManifestPolicy      = "manifest-policy"
	inputManifestPolicyAllow = "manifest-policy-allow"
)

// manifestPolicy reads the manifest policy's inputs.
func manifestPolicy(v *values) (manifestpolicy.Config, error) {
	var cfg manifestpolicy.Config
	var err error
	if cfg.Modes, err = manifestpolicy.ParseModes(strings.Join(v.list(inputManifestPolicy), "\n")); err != nil {
		return cfg, policyInputError(err)
	}
	if cfg.Allow, err = manifestpolicy.ParseAllow(v.list(inputManifestPolicyAllow)); err != nil {
		return cfg, policyInputError(err)
	}
	return cfg, nil
}

// policyInputError names the input a manifest policy's configuration error
// is about.
func policyInputError(err error) error {
	var ce *manifestpolicy.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	input := inputManifestPolicy
	if ce.Field == manifestpolicy.FieldAllow {
		input = inputManifestPolicyAllow
	}
	return fmt.Errorf("input %q: %w", input, err)
}

// strOr returns the named string input, or "" when the command has no such input.
func (v *values) strOr(n string) string {
	if _, ok := v.strings[n]; !ok {
		return ""
	}
	return v.str(n)
}

// sourceFunc checks the "from" input now and reads the image when the run needs it.
func (e *env) sourceFunc(from string, v *values) (func(context.Context) (v1.Image, error), error) {
	// "from" is an image built earlier (see its usage in inputs.go), so a
	// registry reference is refused with the forms it takes.
	opts := []imagesource.Option{
		imagesource.WithField(pipeline.FieldSource), imagesource.WithFieldNames(inputNames),
		imagesource.WithKinds(imagesource.Scratch, imagesource.Layout, imagesource.Tarball, imagesource.Docker),
	}
	if strings.HasPrefix(from, "docker:") {
		api, err := e.dockerClient(v)
		if err != nil {
			return nil, err
		}
		opts = append(opts, imagesource.WithDockerClient(api))
	}
	src, err := imagesource.Parse(from, opts...)
	if err != nil {
		return nil, err
	}
	return src.Image, nil
}

// dockerClient is the command's one Docker engine client, made on first use
// from input "docker-host" and the environment by pkg/engine's rules (TLS,
// API version), shared by every stage, and closed when the command ends.
func (e *env) dockerClient(v *values) (*client.Client, error) {
	if e.api != nil {
		return e.api, nil
	}
	opts := []engine.Option{engine.WithGetenv(e.getenv)}
	if h := v.strOr("docker-host"); h != "" {
		opts = append(opts, engine.WithHost(h))
	}
	api, err := engine.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("input \"docker-host\": %w", err)
	}
	e.api = api
	return api, nil
}

// writer is a line-buffered, masked writer of progress (report.Writer) whose
// last partial line is written out when the command ends.
func (e *env) writer() io.Writer {
	w, flush := e.rep.Writer()
	e.flushes = append(e.flushes, flush)
	return w
}
