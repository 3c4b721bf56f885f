package demo

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/moby/moby/client"

	"github.com/deploy-action/deploy-action/internal/report"
	"github.com/deploy-action/deploy-action/internal/summary"
	"github.com/deploy-action/deploy-action/pkg/build"
	"github.com/deploy-action/deploy-action/pkg/build/layers"
	"github.com/deploy-action/deploy-action/pkg/deploy"
	"github.com/deploy-action/deploy-action/pkg/engine"
	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/kube"
	"github.com/deploy-action/deploy-action/pkg/metadata"
	"github.com/deploy-action/deploy-action/pkg/pin"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
	"github.com/deploy-action/deploy-action/pkg/render"
	"github.com/deploy-action/deploy-action/templates"
)

// Namespace is where the demo deploys.
const Namespace = "deploy-action-demo"

// BaseImage is the image the shop and its PostgreSQL build FROM; hack/setup.sh
// makes it on machines that cannot pull.
const BaseImage = "debian:trixie-slim"

// Commands that enable a part the demo had to skip, one per part.
const (
	EnableEngine  = "sudo hack/setup.sh"
	EnableCluster = "make cluster-build"
)

// Options configure the demo.
type Options struct {
	// ShopDir is the sample shop's build context, with its manifests in k8s/;
	// its PostgreSQL (postgres/) and structure tests (imagetest/shop.yaml)
	// are next to it. "" leaves the shop out and releases the daemonless
	// sample instead.
	ShopDir string
	// DockerHost is the engine address; the shop needs an engine. The
	// default is DOCKER_HOST's, with its TLS (see pkg/engine).
	DockerHost string
	// Getenv reads the environment (DOCKER_HOST, DOCKER_CERT_PATH, ...);
	// default os.Getenv.
	Getenv func(string) string
	// Version is the version tag the demo pushes (with latest), as in the seed.
	Version string
	// Serve keeps the registry up until ctx ends, so the images can be inspected.
	Serve bool
	// Kubeconfig, when set, is a cluster the demo deploys the release to,
	// then a broken release that is caught and rolled back. `make demo` gives
	// it the test control plane.
	Kubeconfig string
	// Namespace is where the release goes; default Namespace.
	Namespace string
	Now       func() time.Time
	// FieldNames names the deploy's settings in its messages as the
	// caller's flags do (deploy.WithFieldNames).
	FieldNames field.Names
}

// Outcome is what the demo showed, for its caller and its tests.
type Outcome struct {
	// Refs are the pushed references: the digest, then each tag.
	Refs []string
	// Deployed is the reference the cluster runs after the demo.
	Deployed string
	// Broken is the broken release's deploy; nil without a cluster.
	Broken *deploy.Result
	// Skipped names each part left out, with the command that enables it.
	Skipped []Skip
}

// Skip is a part of the demo that could not run here.
type Skip struct {
	Part, Reason, Enable string
}

// app is what the demo releases: the shop through BuildKit, tested against
// PostgreSQL, or the daemonless sample when no engine answers.
type app struct {
	name      string
	repo      string // where it is pushed
	builder   build.Interface
	tester    pipeline.Tester
	manifests string // directory of its manifests
	image     string // the repository its manifests name
	closers   []io.Closer
}

// Run runs the demo and reports through rep. Its summaries (one per release)
// are the ones a workflow's job gets.
func Run(ctx context.Context, rep *report.Reporter, o Options) (*Outcome, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "0.1.0"
	}
	if o.Namespace == "" {
		o.Namespace = Namespace
	}
	out := &Outcome{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the demo registry on 127.0.0.1: %w", err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	host := ln.Addr().String()
	rep.Infof("registry: an in-process OCI registry at http://%s", host)

	a, skip, err := shopApp(ctx, rep, host, o)
	if err != nil {
		return nil, err
	}
	if skip != nil {
		out.Skipped = append(out.Skipped, *skip)
		if a, err = helloApp(host); err != nil {
			return nil, err
		}
	}
	defer func() {
		for _, c := range a.closers {
			c.Close()
		}
	}()
	if o.Kubeconfig == "" {
		out.Skipped = append(out.Skipped, Skip{Part: "deploy", Reason: "no cluster to deploy to (the test control plane is not built)", Enable: EnableCluster})
	}

	if err := release(ctx, rep, a, o, out); err != nil {
		return out, err
	}

	rep.Infof("")
	rep.Infof("Done. Pushed:")
	for _, r := range out.Refs {
		rep.Infof("  %s", r)
	}
	if b := out.Broken; b != nil {
		rep.Infof("The broken release was caught in %s (%s) and rolled back; %s runs %s again.",
			b.Verdict.Duration.Round(time.Millisecond), b.Cause(), a.name, out.Deployed)
	}
	for _, s := range out.Skipped {
		rep.Infof("skipped %s: %s; to include it: %s", s.Part, s.Reason, s.Enable)
	}
	rep.Infof(`
Next: build, test, push and deploy your own repository, with the seed's tags <namespace>/<name>:<version> and latest:
  deploy-action run --context . --images docker.io/<namespace>/<name> --version 1.0.0 --tags version,latest \
    --manifests k8s/ --namespace shop
or in a workflow step:
  - uses: deploy-action/deploy-action@v1
    with:
      images: docker.io/<namespace>/<name>
      version: 1.0.0
      tags: version,latest
      manifests: k8s/
      kubeconfig: ${{ secrets.KUBECONFIG }}
      username: ${{ secrets.DOCKERHUB_USERNAME }}
      password: ${{ secrets.DOCKERHUB_TOKEN }}`)
	if o.Serve {
		rep.Infof("\nThe registry stays up at %s until you press Ctrl-C (try: skopeo inspect --tls-verify=false docker://%s/%s:latest).",
			host, host, strings.TrimPrefix(a.repo, host+"/"))
		<-ctx.Done()
	}
	return out, nil
}

// release is a workflow's run on a: build, test (when a has a tester) and
// push, then, with a cluster, the deploy pinned to the pushed digest, and a
// broken release of it, which must be caught and rolled back.
func release(ctx context.Context, rep *report.Reporter, a *app, o Options, out *Outcome) error {
	stages := []pipeline.Stage{pipeline.Build}
	if a.tester != nil {
		stages = append(stages, pipeline.Test)
	}
	stages = append(stages, pipeline.Push)
	end := rep.Group(fmt.Sprintf("%s %s: %s", a.name, o.Version, joinStages(stages)))
	res, err := pipeline.Run(ctx, pipeline.Config{
		Stages:  stages,
		Builder: a.builder,
		Tester:  a.tester,
		Meta: pipeline.Meta{
			Context:  metadata.Context{},
			Title:    a.name,
			Version:  o.Version,
			Policies: []string{"version", "latest"},
			Created:  o.Now().UTC(),
		},
		Images: []string{a.repo},
	}, rep)
	end()
	title := fmt.Sprintf("Release %s %s", a.name, o.Version)
	if err != nil {
		rep.Summary(summary.Markdown(title, res, err))
		return fmt.Errorf("demo %s: %w", a.name, err)
	}
	for _, r := range res.Push.Registries {
		out.Refs = append(out.Refs, r.Ref)
		for _, t := range r.Tags {
			out.Refs = append(out.Refs, r.Repository+":"+t)
		}
	}
	pushed := res.Push.Registries[0].Ref
	_, digest, _ := strings.Cut(pushed, "@")
	if o.Kubeconfig == "" {
		rep.Summary(summary.Markdown(title, res, nil))
		return nil
	}

	// The deploy is the later job of a split workflow: it gets the pushed
	// reference as its image-map, the manifests keep their own repository.
	end = rep.Group(fmt.Sprintf("%s %s: deploy %s", a.name, o.Version, pushed))
	dres, err := deployRun(ctx, rep, a, o, pushed)
	end()
	if dres != nil {
		res.Deploy = dres.Deploy
		res.Stages = append(res.Stages, dres.Stages...)
	}
	rep.Summary(summary.Markdown(title, res, err))
	if err != nil {
		return fmt.Errorf("demo deploy: %w", err)
	}
	out.Deployed = pushed

	broken := "example.com/crash@" + digest
	end = rep.Group(fmt.Sprintf("%s, broken (its containers crash): deploy %s", a.name, broken))
	bres, err := deployRun(ctx, rep, a, o, broken)
	end()
	rep.Summary(summary.Markdown(fmt.Sprintf("Release %s, broken: caught and rolled back", a.name), bres, err))
	if bres == nil || bres.Deploy == nil || err == nil || !bres.Deploy.RolledBack() {
		return fmt.Errorf("demo deploy: the broken release was not caught and rolled back (%v)", err)
	}
	out.Broken = bres.Deploy
	return nil
}

// deployRun deploys a's manifests with their image pinned to ref.
func deployRun(ctx context.Context, rep *report.Reporter, a *app, o Options, ref string) (*pipeline.Result, error) {
	m, err := pin.ParseMapping(a.image + "=" + ref)
	if err != nil {
		return nil, err
	}
	w, flush := rep.Writer()
	defer flush()
	grace := 5 * time.Second
	d, err := deploy.New(deploy.Config{
		Access:          kube.Access{Kubeconfig: o.Kubeconfig},
		Manifests:       render.Spec{Paths: []string{a.manifests}},
		ImageMap:        []pin.Mapping{m},
		Namespace:       o.Namespace,
		CreateNamespace: true,
		Grace:           &grace,
		Rollback:        true,
	}, deploy.WithLog(w), deploy.WithFieldNames(o.FieldNames))
	if err != nil {
		return nil, err
	}
	return pipeline.Run(ctx, pipeline.Config{Stages: []pipeline.Stage{pipeline.Deploy}, Deployer: d}, rep)
}

func joinStages(s []pipeline.Stage) string {
	n := make([]string, len(s))
	for i, st := range s {
		n[i] = string(st)
	}
	return strings.Join(n, ", ")
}

// helloApp is the daemonless sample: a static site on scratch.
func helloApp(host string) (*app, error) {
	site, err := writeEmbedded("demo/site")
	if err != nil {
		return nil, err
	}
	k8s, err := writeEmbedded("demo/k8s")
	if err != nil {
		os.RemoveAll(site)
		return nil, err
	}
	b, err := layers.New(layers.Spec{
		Base:    "scratch",
		Layers:  []layers.Layer{{Source: site, Target: "/srv/www"}},
		Workdir: "/srv/www",
		User:    "65532:65532",
		Ports:   []string{"8080/tcp"},
	})
	if err != nil {
		return nil, err
	}
	return &app{
		name: "hello", repo: host + "/demo/hello", builder: b,
		manifests: k8s, image: "demo/hello",
		closers: []io.Closer{dirCloser(site), dirCloser(k8s)},
	}, nil
}

type dirCloser string

func (d dirCloser) Close() error { return os.RemoveAll(string(d)) }

// writeEmbedded copies an embedded directory of templates.Demo to a temporary
// directory.
func writeEmbedded(name string) (string, error) {
	dir, err := os.MkdirTemp("", "deploy-action-demo-")
	if err != nil {
		return "", err
	}
	sub, err := fs.Sub(templates.Demo, name)
	if err != nil {
		return "", err
	}
	if err := os.CopyFS(dir, sub); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("writing the demo's %s: %w", name, err)
	}
	return dir, nil
}

// ping returns a client of the engine once it answers; the caller closes it.
func ping(ctx context.Context, o Options) (*client.Client, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	eopts := []engine.Option{engine.WithGetenv(getenv)}
	if o.DockerHost != "" {
		eopts = append(eopts, engine.WithHost(o.DockerHost))
	}
	c, err := engine.New(eopts...)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
