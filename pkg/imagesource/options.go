package imagesource

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/internal/registryhttp"
)

// Option configures Parse and Resolve.
type Option func(*options)

type options struct {
	field      string
	names      field.Names
	dir        string
	keychain   authn.Keychain
	transport  http.RoundTripper // nil: registryhttp's, from timeout and insecure
	timeout    time.Duration
	insecure   map[string]bool
	platform   v1.Platform
	explicit   bool // the platform came from WithPlatform
	dockerHost string
	docker     *client.Client
	getenv     func(string) string
	kinds      []Kind
	errs       []error
}

// defaults are the only place the outside world comes in by default.
func defaults() options {
	return options{
		field:    FieldText,
		keychain: authn.DefaultKeychain,
		timeout:  registryhttp.DefaultTimeout,
		insecure: map[string]bool{},
		platform: v1.Platform{OS: "linux", Architecture: "amd64"},
		kinds:    allKinds,
		getenv:   os.Getenv,
	}
}

func (o *options) fail(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf("imagesource: "+format, args...))
}

func makeOptions(opts []Option) (options, error) {
	o := defaults()
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.errs) > 0 {
		return o, errors.Join(o.errs...)
	}
	if o.transport == nil {
		t, err := registryhttp.New(registryhttp.Config{Timeout: o.timeout, Insecure: o.insecure})
		if err != nil {
			return o, err
		}
		o.transport = t
	}
	return o, nil
}

// FieldText is the text Parse reads, as its *field.Error names it unless
// WithField names the caller's field.
const FieldText = "imagesource.Parse"

// WithField names the caller's field the text came from ("layers.Spec.Base"):
// Parse's errors are *field.Error of it (default FieldText).
func WithField(f string) Option {
	return func(o *options) {
		if f == "" {
			o.fail("WithField needs a field")
		}
		o.field = f
	}
}

// WithFieldNames names fields as the user sets them, for the messages of
// Image that refer to the field (default: the field as it is).
func WithFieldNames(n field.Names) Option {
	return func(o *options) { o.names = n }
}

// WithDir sets the directory that relative oci: and tarball: paths are
// resolved against (default: the working directory), e.g. GITHUB_WORKSPACE.
func WithDir(dir string) Option {
	return func(o *options) { o.dir = dir }
}

// WithKeychain sets the credentials for registry sources
// (default authn.DefaultKeychain).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) {
		if k == nil {
			o.fail("WithKeychain needs a non-nil keychain")
		}
		o.keychain = k
	}
}

// WithRequestTimeout bounds the wait for a registry's answer to each request
// of a registry source (default 30 s): a registry that accepts and never
// answers fails the read instead of holding the job.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) {
		if d <= 0 {
			o.fail("WithRequestTimeout: %s; use a positive duration", d)
		}
		o.timeout = d
	}
}

// WithInsecure lets registry sources on the given registries ("host:port")
// be read over plain HTTP. Other registries are refused plain HTTP, even the
// private-range ones ggcr would fall back to it for; loopback ones always
// may.
func WithInsecure(registries ...string) Option {
	return func(o *options) {
		for _, r := range registries {
			o.insecure[r] = true
		}
	}
}

// WithTransport sets the HTTP transport for registry sources; it replaces
// the default (ggcr's, with WithRequestTimeout and WithInsecure's guard).
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) {
		if t == nil {
			o.fail("WithTransport needs a non-nil transport")
		}
		o.transport = t
	}
}

// WithPlatform says which platform the image must be for: it is picked from
// a multi-platform index or layout, and an image for a single platform must
// match it.
func WithPlatform(p v1.Platform) Option {
	return func(o *options) {
		if o.checkPlatform("WithPlatform", p) {
			o.platform, o.explicit = p, true
		}
	}
}

// WithDefaultPlatform sets the platform picked from a multi-platform index or
// layout when nobody asked for one (default linux/amd64); an image for a
// single platform is taken whatever its platform. WithPlatform wins over it.
func WithDefaultPlatform(p v1.Platform) Option {
	return func(o *options) {
		if o.checkPlatform("WithDefaultPlatform", p) && !o.explicit {
			o.platform = p
		}
	}
}

func (o *options) checkPlatform(opt string, p v1.Platform) bool {
	if p.OS == "" || p.Architecture == "" {
		o.fail("%s needs an OS and an architecture, e.g. linux/amd64; got %q", opt, p.String())
		return false
	}
	return true
}

// WithDockerHost sets the engine address for docker: sources, read through a
// client made by pkg/engine's rules (default: DOCKER_HOST, with the TLS and
// API version the environment sets). It excludes WithDockerClient.
func WithDockerHost(h string) Option {
	return func(o *options) {
		if o.docker != nil && h != "" {
			o.fail("WithDockerHost and WithDockerClient exclude each other: give the host to the client")
		}
		o.dockerHost = h
	}
}

// WithDockerClient reads docker: sources through the caller's engine client
// (made with pkg/engine). The caller keeps it, and keeps it open while the
// image is in use: the image is read from the engine when it is used. Without
// it, a Source makes a client of its own for the read, reads the image into
// memory and closes the client before Image returns.
func WithDockerClient(c *client.Client) Option {
	return func(o *options) {
		switch {
		case c == nil:
			o.fail("WithDockerClient needs a non-nil client")
		case o.dockerHost != "":
			o.fail("WithDockerHost and WithDockerClient exclude each other: give the host to the client")
		}
		o.docker = c
	}
}

// WithGetenv sets how the environment is read when a Source makes its own
// engine client (default os.Getenv).
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) {
		if getenv == nil {
			o.fail("WithGetenv needs a non-nil function")
			return
		}
		o.getenv = getenv
	}
}

// WithKinds limits the kinds of source the input takes (default: all). Text
// of another kind is rejected by Parse with a message that lists the kinds
// the input takes; a docker: source is met with how to save it as a tarball
// when Tarball is one of them.
func WithKinds(kinds ...Kind) Option {
	return func(o *options) {
		if len(kinds) == 0 {
			o.fail("WithKinds needs at least one kind")
		}
		for _, k := range kinds {
			if !slices.Contains(allKinds, k) {
				o.fail("WithKinds: %d is not a Kind", int(k))
			}
		}
		o.kinds = slices.Clone(kinds)
	}
}

func (o options) takes(k Kind) bool { return slices.Contains(o.kinds, k) }
