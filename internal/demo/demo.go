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
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/moby/moby/client"

	"github.com/deploy-action/deploy-action/internal/report"
	"github.com/deploy-action/deploy-action/pkg/build"
	"github.com/deploy-action/deploy-action/pkg/build/dockerfile"
	"github.com/deploy-action/deploy-action/pkg/build/layers"
	"github.com/deploy-action/deploy-action/pkg/metadata"
	"github.com/deploy-action/deploy-action/pkg/pipeline"
	"github.com/deploy-action/deploy-action/templates"
)

// Options configure the demo.
type Options struct {
	// ShopDir is the sample shop's build context; skipped when absent.
	ShopDir string
	// DockerHost is the engine address; the shop is skipped when no engine answers.
	DockerHost string
	// Version is the version tag the demo pushes (with latest), as in the seed.
	Version string
	// Serve keeps the registry up until ctx ends, so the images can be inspected.
	Serve bool
	// Kubeconfig, when set, is a cluster the demo deploys the sample to: a
	// release that rolls out, then a broken one that is caught and rolled
	// back. `make demo` gives it the test control plane when its binaries are
	// built.
	Kubeconfig string
	Now        func() time.Time
}

// Run runs the demo and reports through rep.
func Run(ctx context.Context, rep *report.Reporter, o Options) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "0.1.0"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting the demo registry on 127.0.0.1: %w", err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	host := ln.Addr().String()
	rep.Infof("registry: an in-process OCI registry at http://%s", host)

	site, err := writeSite()
	if err != nil {
		return err
	}
	defer os.RemoveAll(site)

	hello, err := layers.New(layers.Spec{
		Base:    "scratch",
		Layers:  []layers.Layer{{Source: site, Target: "/srv/www"}},
		Workdir: "/srv/www",
		User:    "65532:65532",
		Ports:   []string{"8080/tcp"},
	})
	if err != nil {
		return err
	}
	var refs []string
	res, err := run(ctx, rep, hello, host+"/demo/hello", "hello", o)
	if err != nil {
		return err
	}
	refs = append(refs, res...)
	if o.Kubeconfig != "" {
		if err := deployHello(ctx, rep, o.Kubeconfig, res[0]); err != nil {
			return err
		}
	}

	if shop := shopBuilder(ctx, rep, o); shop != nil {
		if c, ok := shop.(io.Closer); ok {
			defer c.Close()
		}
		res, err := run(ctx, rep, shop, host+"/demo/shop", "shop", o)
		if err != nil {
			return err
		}
		refs = append(refs, res...)
	}

	rep.Infof("")
	rep.Infof("Done. Pushed:")
	for _, r := range refs {
		rep.Infof("  %s", r)
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
		rep.Infof("\nThe registry stays up at %s until you press Ctrl-C (try: skopeo inspect --tls-verify=false docker://%s/demo/hello:latest).", host, host)
		<-ctx.Done()
	}
	return nil
}

func run(ctx context.Context, rep *report.Reporter, b build.Interface, repo, title string, o Options) ([]string, error) {
	end := rep.Group("demo: " + title)
	defer end()
	res, err := pipeline.Run(ctx, pipeline.Config{
		Stages:  []pipeline.Stage{pipeline.Build, pipeline.Push},
		Builder: b,
		Meta: pipeline.Meta{
			Context:  metadata.Context{},
			Title:    title,
			Version:  o.Version,
			Policies: []string{"version", "latest"},
			Created:  o.Now().UTC(),
		},
		Images: []string{repo},
	}, rep)
	if err != nil {
		return nil, fmt.Errorf("demo %s: %w", title, err)
	}
	var refs []string
	for _, r := range res.Push.Registries {
		refs = append(refs, r.Ref)
		for _, t := range r.Tags {
			refs = append(refs, r.Repository+":"+t)
		}
	}
	return refs, nil
}

// writeSite copies the embedded sample site to a temporary directory.
func writeSite() (string, error) { return writeEmbedded("demo/site") }

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
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("writing the demo's %s: %w", name, err)
	}
	return dir, nil
}

// shopBuilder returns the shop's BuildKit builder when the shop's sources and a
// Docker engine are both there, and says why it skips the shop otherwise.
func shopBuilder(ctx context.Context, rep *report.Reporter, o Options) build.Interface {
	if o.ShopDir == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(o.ShopDir, "Dockerfile")); err != nil {
		rep.Infof("shop: skipped (no Dockerfile in %s)", o.ShopDir)
		return nil
	}
	if err := ping(ctx, o.DockerHost); err != nil {
		rep.Infof("shop: skipped (no Docker engine answers: %v); start dockerd to build the shop with BuildKit", err)
		return nil
	}
	w, _ := rep.Writer()
	opts := []dockerfile.Option{dockerfile.WithProgress(w)}
	if o.DockerHost != "" {
		opts = append(opts, dockerfile.WithHost(o.DockerHost))
	}
	b, err := dockerfile.New(dockerfile.Request{ContextDir: o.ShopDir}, opts...)
	if err != nil {
		rep.Infof("shop: skipped (%v)", err)
		return nil
	}
	return b
}

func ping(ctx context.Context, host string) error {
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	c, err := client.New(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = c.Ping(ctx, client.PingOptions{})
	return err
}
