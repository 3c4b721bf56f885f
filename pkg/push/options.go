package push

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/internal/registryhttp"
	"github.com/deploy-action/deploy-action/pkg/mask"
)

// Option configures a Pusher. Options are checked when the Pusher is made (New),
// so a bad or conflicting option fails before anything is sent.
type Option func(*options) error

type options struct {
	keychain  authn.Keychain
	transport http.RoundTripper
	caFiles   []string
	insecure  map[string]bool
	jobs      int
	backoff   remote.Backoff
	progress  io.Writer
	now       func() time.Time
	timeout   time.Duration
	warn      func(string)
	masker    mask.Interface
	names     field.Names
}

// Defaults live here and nowhere else.
func defaults() *options {
	return &options{
		keychain: anonymous{},
		insecure: map[string]bool{},
		// ggcr's own default is 4 concurrent uploads; docker push uses 5.
		jobs: 4,
		// 5 attempts, waiting about 1s, 2s, 4s, 8s: long enough for a registry's
		// rate limit window or a load balancer's restart, short enough for CI.
		backoff:  remote.Backoff{Duration: time.Second, Factor: 2, Jitter: 0.2, Steps: 5},
		progress: io.Discard,
		now:      time.Now,
		timeout:  DefaultRequestTimeout,
	}
}

// DefaultRequestTimeout bounds the wait for a registry's answer to each
// request, once the request is sent: a registry that accepts and never
// answers must not hold a job until the CI's own limit.
const DefaultRequestTimeout = registryhttp.DefaultTimeout

// WithRequestTimeout bounds the wait for the response headers of each
// request, once its body is sent (default DefaultRequestTimeout). It applies
// to the default transport and to WithCAFile's; a WithTransport transport
// keeps its own settings.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("push.WithRequestTimeout: %s; use a positive duration", d)
		}
		o.timeout = d
		return nil
	}
}

// WithWarnings receives warnings that are not errors: credentials sent over
// plain HTTP to a registry allowed it (default: the progress log).
func WithWarnings(warn func(string)) Option {
	return func(o *options) error {
		if warn == nil {
			return errors.New("push.WithWarnings: nil function")
		}
		o.warn = warn
		return nil
	}
}

// anonymous is the default keychain: without WithKeychain, Push sends no
// credentials, and reads no file or environment variable of the caller's.
type anonymous struct{}

func (anonymous) Resolve(authn.Resource) (authn.Authenticator, error) { return authn.Anonymous, nil }

// WithKeychain sets where credentials come from; see Keychain for the usual
// sources (explicit credentials, the Docker config file, GITHUB_TOKEN).
func WithKeychain(k authn.Keychain) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("push.WithKeychain: nil keychain")
		}
		o.keychain = k
		return nil
	}
}

// WithTransport sets the HTTP transport. Retries are still added around it. It
// cannot be combined with WithCAFile: configure the CA on the transport instead.
func WithTransport(t http.RoundTripper) Option {
	return func(o *options) error {
		if t == nil {
			return errors.New("push.WithTransport: nil transport")
		}
		o.transport = t
		return nil
	}
}

// WithCAFile adds a PEM file of CA certificates to trust, on top of the
// system's, for registries that serve TLS with a private CA. The file is read
// and checked when the Pusher is made.
func WithCAFile(path string) Option {
	return func(o *options) error {
		if path == "" {
			return field.Errorf(FieldCAFile, "the path is empty; give the path of a PEM file with the registry's CA certificate")
		}
		o.caFiles = append(o.caFiles, path)
		return nil
	}
}

// WithInsecure lets Push talk plain HTTP to the given registries ("host:port").
// Loopback registries (localhost, 127.0.0.1) need no option: plain HTTP is
// tried there after HTTPS, as docker does.
func WithInsecure(registries ...string) Option {
	return func(o *options) error {
		for _, r := range registries {
			if r == "" || strings.Contains(r, "/") {
				return field.Errorf(FieldInsecure, `%q is not a registry; use "<host>[:<port>]" without a path or scheme`, r)
			}
			reg, err := name.NewRegistry(r, name.StrictValidation)
			if err != nil {
				return field.Errorf(FieldInsecure, `%q is not a registry (%v); use "<host>[:<port>]"`, r, err)
			}
			o.insecure[reg.RegistryStr()] = true
		}
		return nil
	}
}

// WithJobs bounds the work in flight: at most n registries are written at
// once, and at most n blobs are uploaded at once to each of them.
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf(`push: %d is not a valid number of parallel uploads; use 1 or more`, n)
		}
		o.jobs = n
		return nil
	}
}

// WithRetry sets how often a request that failed for a transient reason (5xx,
// 429, 408, a reset or dropped connection) is tried, and the first wait; each
// further wait doubles. attempts counts the first try: 1 means no retry.
func WithRetry(attempts int, firstWait time.Duration) Option {
	return func(o *options) error {
		if attempts < 1 {
			return fmt.Errorf("push.WithRetry: %d attempts; use 1 or more (1 means no retry)", attempts)
		}
		if firstWait <= 0 {
			return fmt.Errorf("push.WithRetry: wait %v; use a positive duration", firstWait)
		}
		o.backoff = remote.Backoff{Duration: firstWait, Factor: 2, Jitter: 0.2, Steps: attempts}
		return nil
	}
}

// WithProgress sets where one line per step goes (registry started, pushed,
// tagged, retried, failed). Lines never carry credentials.
func WithProgress(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("push.WithProgress: nil writer")
		}
		o.progress = w
		return nil
	}
}

// WithClock sets the clock used to time each registry.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("push.WithClock: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithFieldNames names fields as the user sets them, for the fixes that point
// at a setting (the repositories, the tags, the CA file, the insecure
// registries); without it, a fix names the field (FieldRepos).
func WithFieldNames(n field.Names) Option {
	return func(o *options) error {
		o.names = n
		return nil
	}
}

// WithMasker reports the credentials each push uses (the keychain's: inputs,
// a Docker config file, a credential helper) to the run's masker, so that
// whatever prints them later masks them. The Pusher's own messages and
// errors are masked anyway.
func WithMasker(m mask.Interface) Option {
	return func(o *options) error {
		if m == nil {
			return errors.New("push.WithMasker: nil masker")
		}
		o.masker = m
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := defaults()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.warn == nil {
		progress := o.progress
		o.warn = func(s string) { fmt.Fprintf(progress, "warning: %s\n", s) }
	}
	if o.transport != nil {
		// A caller's transport keeps its own settings.
		if len(o.caFiles) > 0 {
			return nil, errors.New("push: WithCAFile and WithTransport conflict; add the CA to the transport's TLS configuration instead")
		}
		o.transport = registryhttp.Guard(o.transport, o.insecure, o.names.Of(FieldInsecure), o.warn)
		return o, nil
	}
	c := registryhttp.Config{Timeout: o.timeout, Insecure: o.insecure, Warn: o.warn, Listed: o.names.Of(FieldInsecure)}
	if len(o.caFiles) > 0 {
		pool, err := caPool(o.caFiles)
		if err != nil {
			return nil, err
		}
		c.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	t, err := registryhttp.New(c)
	if err != nil {
		return nil, err
	}
	o.transport = t
	return o, nil
}

// caPool is the system roots plus the given CAs.
func caPool(files []string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, field.Errorf(FieldCAFile, "cannot read %q (%w); give the path of a PEM file with the registry's CA certificate", f, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, field.Errorf(FieldCAFile, `%q holds no PEM certificate; give a file with "-----BEGIN CERTIFICATE-----" blocks`, f)
		}
	}
	return pool, nil
}
