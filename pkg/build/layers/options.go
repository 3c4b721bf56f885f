package layers

import (
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Option configures a Builder.
type Option func(*options)

type options struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	ownRT     bool // WithTransport was given: it replaces the guarded default
	timeout   time.Duration
	insecure  []string
	epoch     *time.Time
	getenv    func(string) string
	dir       string
}

// defaults are the only place the outside world comes in by default.
func defaults() options {
	return options{
		keychain: authn.DefaultKeychain,
		getenv:   os.Getenv,
		dir:      ".",
	}
}

// WithKeychain sets the credentials used to read a registry base image.
func WithKeychain(kc authn.Keychain) Option {
	return func(o *options) { o.keychain = kc }
}

// WithTransport sets the HTTP transport used to read a registry base image.
// It replaces the default: ggcr's transport with WithRequestTimeout and plain
// HTTP only to WithInsecure's registries.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) { o.transport, o.ownRT = t, true }
}

// WithRequestTimeout bounds the wait for the base image's registry to answer
// each request (default 30 s).
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithInsecure lets a base image be read over plain HTTP from the given
// registries ("host:port"); others are refused it, loopback ones excepted.
func WithInsecure(registries ...string) Option {
	return func(o *options) { o.insecure = append(o.insecure, registries...) }
}

// WithSourceDateEpoch sets the time written into every tar header and into
// the config's created and history times. It wins over SOURCE_DATE_EPOCH.
func WithSourceDateEpoch(t time.Time) Option {
	return func(o *options) { t := t.UTC(); o.epoch = &t }
}

// WithGetenv sets how SOURCE_DATE_EPOCH is looked up (default os.Getenv).
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) { o.getenv = getenv }
}

// WithDir sets the directory that relative layer sources and oci:/tarball:
// bases are resolved against (default: the working directory), e.g.
// GITHUB_WORKSPACE.
func WithDir(dir string) Option {
	return func(o *options) { o.dir = dir }
}
