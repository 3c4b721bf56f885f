package imagesource

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// Kinds of source, by prefix.
const (
	Scratch = "scratch"
	OCI     = "oci:"
	Tarball = "tarball:"
	Docker  = "docker:"
)

type options struct {
	keychain   authn.Keychain
	transport  http.RoundTripper
	platform   *v1.Platform
	dockerHost string
	input      string
}

// Option configures Resolve.
type Option func(*options)

// WithKeychain sets the credentials for registry sources.
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithTransport sets the HTTP transport for registry sources.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithPlatform picks the image from a multi-platform index (default linux/amd64).
func WithPlatform(p v1.Platform) Option { return func(o *options) { o.platform = &p } }

// WithDockerHost sets the engine address for docker: sources.
func WithDockerHost(h string) Option { return func(o *options) { o.dockerHost = h } }

// WithInput names the input the reference came from, for error messages.
func WithInput(n string) Option { return func(o *options) { o.input = n } }

// Resolve returns the image ref names.
func Resolve(ctx context.Context, ref string, opts ...Option) (v1.Image, error) {
	o := options{keychain: authn.DefaultKeychain, transport: remote.DefaultTransport, input: "from",
		platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}
	for _, opt := range opts {
		opt(&o)
	}
	ref = strings.TrimSpace(ref)
	switch {
	case ref == "":
		return nil, fmt.Errorf("input %q is empty; use scratch, oci:DIR, tarball:FILE, docker:NAME or a registry reference", o.input)
	case ref == Scratch:
		return empty.Image, nil
	case strings.HasPrefix(ref, OCI):
		return fromLayout(strings.TrimPrefix(ref, OCI), o)
	case strings.HasPrefix(ref, Tarball):
		path := strings.TrimPrefix(ref, Tarball)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("input %q: %s cannot be read (%w); point it at a tarball written by docker save", o.input, path, err)
		}
		img, err := tarball.ImageFromPath(path, nil)
		if err != nil {
			return nil, fmt.Errorf("input %q: %s is not an image tarball: %w", o.input, path, err)
		}
		return img, nil
	case strings.HasPrefix(ref, Docker):
		return fromDaemon(ctx, strings.TrimPrefix(ref, Docker), o)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("input %q: %q is not an image reference (%v); use e.g. debian:trixie-slim or ghcr.io/owner/name@sha256:...", o.input, ref, err)
	}
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(o.keychain),
		remote.WithTransport(o.transport), remote.WithPlatform(*o.platform))
	if err != nil {
		return nil, fmt.Errorf("input %q: fetching %s: %w", o.input, r, err)
	}
	return img, nil
}

// fromLayout reads DIR or DIR@sha256:... from an OCI layout. Without a digest
// the layout must hold exactly one image.
func fromLayout(spec string, o options) (v1.Image, error) {
	dir, dgst, _ := strings.Cut(spec, "@")
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("input %q: %s is not an OCI layout (%v); point it at a directory written by `deploy-action build --output`", o.input, dir, err)
	}
	if dgst != "" {
		h, err := v1.NewHash(dgst)
		if err != nil {
			return nil, fmt.Errorf("input %q: %q is not a digest: %v", o.input, dgst, err)
		}
		return p.Image(h)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("input %q: reading %s: %w", o.input, dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("input %q: reading %s: %w", o.input, dir, err)
	}
	switch len(m.Manifests) {
	case 0:
		return nil, fmt.Errorf("input %q: %s holds no image", o.input, dir)
	case 1:
		return p.Image(m.Manifests[0].Digest)
	}
	return nil, fmt.Errorf("input %q: %s holds %d images; name one as oci:%s@sha256:...", o.input, dir, len(m.Manifests), dir)
}

func fromDaemon(ctx context.Context, ref string, o options) (v1.Image, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("input %q: %q is not an image name (%v)", o.input, ref, err)
	}
	copts := []client.Opt{client.FromEnv}
	if o.dockerHost != "" {
		copts = append(copts, client.WithHost(o.dockerHost))
	}
	c, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to the Docker engine: %w", err)
	}
	img, err := daemon.Image(r, daemon.WithContext(ctx), daemon.WithClient(c))
	if err != nil {
		return nil, fmt.Errorf("input %q: reading %s from the Docker engine: %w", o.input, ref, err)
	}
	return img, nil
}
