package dockerfile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker/cli/cli/config"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/moby/client"
	"github.com/tonistiigi/fsutil"

	"github.com/deploy-action/deploy-action/pkg/build"
	"github.com/deploy-action/deploy-action/pkg/engine"
	"github.com/deploy-action/deploy-action/pkg/field"
)

// Builder builds one Request with the BuildKit embedded in a Docker engine.
//
// Every image it returns keeps its compressed layers in a temporary directory
// until the image is closed (it implements io.Closer) or the Builder is.
// Closing is explicit rather than tied to the context: the image outlives
// the build call, since the push reads the layers after Build returns.
type Builder struct {
	req    Request
	opts   options
	api    *client.Client
	ownAPI bool

	mu     sync.Mutex
	images []*Image
	closed bool
}

var _ build.Interface = (*Builder)(nil)

// New checks the request and the options now, so that a bad input is
// reported before any work starts. It does not contact the engine.
func New(req Request, opts ...Option) (*Builder, error) {
	o := defaultOptions()
	hostSet := false
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
		hostSet = hostSet || o.host != ""
	}
	if hostSet && o.api != nil {
		return nil, errors.New("WithHost and WithDockerClient exclude each other: give the host to the client")
	}
	r, err := req.validate(osStat, o.names)
	if err != nil {
		return nil, err
	}
	b := &Builder{req: r, opts: o, api: o.api}
	if b.api == nil {
		if b.api, err = newAPIClient(o); err != nil {
			return nil, err
		}
		b.ownAPI = true
	}
	return b, nil
}

// newAPIClient makes an engine client from the options and the environment,
// by the rules of the one package that owns them (pkg/engine).
func newAPIClient(o options) (*client.Client, error) {
	eopts := []engine.Option{engine.WithGetenv(o.getenv)}
	if o.host != "" {
		eopts = append(eopts, engine.WithHost(o.host))
	}
	return engine.New(eopts...)
}

// Request returns the request as validated: absolute paths, defaults filled in.
func (b *Builder) Request() Request { return b.req }

// Build runs the build and reads the result back from the engine.
func (b *Builder) Build(ctx context.Context) (v1.Image, error) {
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, errors.New("building Dockerfile: the builder is closed")
	}
	start := time.Now()
	id, err := b.solve(ctx)
	if err != nil {
		return nil, fmt.Errorf("building Dockerfile: %w", err)
	}
	fmt.Fprintf(b.opts.progress, "built %s in %s\n", id, time.Since(start).Round(10*time.Millisecond))

	img, err := load(ctx, b.api, id, b.opts)
	if err != nil {
		return nil, fmt.Errorf("building Dockerfile: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.Join(errors.New("building Dockerfile: the builder was closed during the build"), img.Close())
	}
	b.images = append(b.images, img)
	return img, nil
}

// Close removes the temporary files of every image the Builder returned and
// closes the engine client it made.
func (b *Builder) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	for _, img := range b.images {
		errs = append(errs, img.Close())
	}
	b.images = nil
	if b.ownAPI {
		errs = append(errs, b.api.Close())
	}
	return errors.Join(errs...)
}

// solve runs the Dockerfile frontend of the engine's BuildKit and returns
// the ID of the image it stored.
func (b *Builder) solve(ctx context.Context) (string, error) {
	// The engine serves BuildKit's control API and its session endpoint over
	// hijacked HTTP connections; this is how buildx's "docker" driver reaches
	// it, and it needs neither the docker CLI nor a buildkitd.
	bk, err := bkclient.New(ctx, "",
		bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return b.api.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		bkclient.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return b.api.DialHijack(ctx, "/session", proto, meta)
		}),
	)
	if err != nil {
		return "", fmt.Errorf("connecting to the engine's BuildKit: %w", err)
	}
	defer bk.Close()

	contextFS, err := fsutil.NewFS(b.req.ContextDir)
	if err != nil {
		return "", field.Errorf(FieldContextDir, "%w", err)
	}
	dockerfileFS, err := fsutil.NewFS(filepath.Dir(b.req.Dockerfile))
	if err != nil {
		return "", field.Errorf(FieldDockerfile, "%w", err)
	}

	exportAttrs := map[string]string{}
	if b.req.Tag != "" {
		exportAttrs["name"] = b.req.Tag
	}
	opt := bkclient.SolveOpt{
		// The embedded BuildKit of a 20.10 engine knows "moby" (store in the
		// engine) but not "image"; newer engines keep "moby" as well.
		Exports:       []bkclient.ExportEntry{{Type: "moby", Attrs: exportAttrs}},
		Frontend:      "dockerfile.v0",
		FrontendAttrs: b.req.frontendAttrs(b.opts.getenv("SOURCE_DATE_EPOCH")),
		// The Dockerfile frontend reads .dockerignore from "context" itself
		// and asks only for the files it leaves.
		LocalMounts: map[string]fsutil.FS{"context": contextFS, "dockerfile": dockerfileFS},
		// A stable key lets the engine send only what changed since the last
		// build of the same directory.
		SharedKey: sharedKey(b.req.ContextDir),
		Session:   []session.Attachable{b.authProvider()},
	}
	if len(b.opts.secrets) > 0 {
		opt.Session = append(opt.Session, secretsprovider.FromMap(b.opts.secrets))
	}

	tr := newTracker(b.opts.progress)
	ch := make(chan *bkclient.SolveStatus)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for st := range ch {
			tr.update(st)
		}
	}()
	resp, err := bk.Solve(ctx, nil, opt, ch)
	<-done // Solve closes ch.
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		failed, _ := tr.failed()
		err = stepError(err, failed)
		var se *StepError
		if errors.As(err, &se) && len(se.Output) > 0 {
			for _, l := range se.Output {
				fmt.Fprintf(b.opts.progress, "  | %s\n", l)
			}
		}
		return "", err
	}
	return imageID(resp.ExporterResponse, b.req.Tag)
}

// imageID finds the stored image in the exporter's response. Engines with
// the containerd image store name images by manifest digest
// ("containerimage.digest"); graph-driver engines by config digest, which
// they return under both keys or (20.10) only under the config key.
func imageID(resp map[string]string, tag string) (string, error) {
	for _, k := range []string{"containerimage.digest", "containerimage.config.digest"} {
		if v := resp[k]; v != "" {
			return v, nil
		}
	}
	if tag != "" {
		return tag, nil
	}
	return "", fmt.Errorf("the engine stored the image but did not say its ID (response %v); set \"tag\" to name it", resp)
}

func sharedKey(dir string) string {
	h := sha256.Sum256([]byte(dir))
	return "deploy-action:" + hex.EncodeToString(h[:8])
}

// authProvider answers the engine's credential requests for base images from
// the Docker config file (credential helpers included); an empty or missing
// file means anonymous pulls.
func (b *Builder) authProvider() session.Attachable {
	dir := b.opts.configDir
	if dir == "" {
		dir = b.opts.getenv("DOCKER_CONFIG")
	}
	if dir == "" {
		if home := b.opts.getenv("HOME"); home != "" {
			dir = filepath.Join(home, ".docker")
		}
	}
	cfg, err := config.Load(dir)
	if err != nil {
		// A broken file must not stop a build whose base images are public;
		// config.Load still returns an empty config then.
		fmt.Fprintf(b.opts.progress, "warning: Docker config in %s is unreadable (%v); pulling base images anonymously\n", dir, err)
	}
	return authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(cfg),
	})
}
