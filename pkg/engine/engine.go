package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/docker/go-connections/tlsconfig"
	"github.com/moby/moby/client"
)

// DefaultHost is the engine's address when neither an option nor DOCKER_HOST gives one.
const DefaultHost = "unix:///var/run/docker.sock"

// ErrHost is the error of a Docker host that cannot be used; errors.Is finds it.
var ErrHost = errors.New("unusable Docker host")

// Option configures New.
type Option func(*options) error

type options struct {
	host   string
	getenv func(string) string
}

// WithHost sets the engine's address (unix:///var/run/docker.sock,
// tcp://host:2376), in place of DOCKER_HOST.
func WithHost(host string) Option {
	return func(o *options) error {
		if host == "" {
			return errors.New("engine.WithHost: the host is empty; give the engine's address, e.g. unix:///var/run/docker.sock")
		}
		o.host = host
		return nil
	}
}

// WithGetenv sets how the environment is read (default os.Getenv).
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) error {
		if getenv == nil {
			return errors.New("engine.WithGetenv: the function is nil")
		}
		o.getenv = getenv
		return nil
	}
}

// Host returns the address New connects to: the one given, else DOCKER_HOST,
// else DefaultHost.
func Host(host string, getenv func(string) string) string {
	if host != "" {
		return host
	}
	if getenv != nil {
		if h := getenv("DOCKER_HOST"); h != "" {
			return h
		}
	}
	return DefaultHost
}

// New returns a client of the engine, as the docker CLI would make it:
//   - the address from WithHost, else DOCKER_HOST, else DefaultHost;
//   - TLS when DOCKER_CERT_PATH names a directory of ca.pem, cert.pem and
//     key.pem, or when DOCKER_TLS_VERIFY is set (the certificates then come
//     from DOCKER_CONFIG, else ~/.docker); the server's certificate is
//     verified only when DOCKER_TLS_VERIFY is set, as the docker CLI does;
//   - the API version from DOCKER_API_VERSION, else negotiated on first use,
//     so that one binary talks to a 20.10 engine (API 1.41) and current ones.
//
// New does not contact the engine. The caller owns the client: Close it.
func New(opts ...Option) (*client.Client, error) {
	o := options{getenv: os.Getenv}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	host := Host(o.host, o.getenv)
	var copts []client.Opt
	tlsCfg, err := tlsConfig(o.getenv)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrHost, host, err)
	}
	if tlsCfg != nil {
		// Set before WithHost, which fits the transport's dialer to the host.
		copts = append(copts, client.WithHTTPClient(&http.Client{
			Transport:     &http.Transport{TLSClientConfig: tlsCfg, MaxIdleConns: 6},
			CheckRedirect: client.CheckRedirect,
		}))
	}
	copts = append(copts, client.WithHost(host))
	if v := o.getenv("DOCKER_API_VERSION"); v != "" {
		copts = append(copts, client.WithAPIVersion(v))
	}
	c, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %w; set DOCKER_HOST to unix:///path/to/docker.sock or tcp://host:port", ErrHost, host, err)
	}
	return c, nil
}

// tlsConfig is the TLS the environment asks for, nil for none.
func tlsConfig(getenv func(string) string) (*tls.Config, error) {
	certs := getenv("DOCKER_CERT_PATH")
	verify := getenv("DOCKER_TLS_VERIFY") != ""
	if certs == "" && !verify {
		return nil, nil
	}
	if certs == "" {
		certs = getenv("DOCKER_CONFIG")
		if certs == "" {
			certs = filepath.Join(getenv("HOME"), ".docker")
		}
	}
	opts := tlsconfig.Options{
		// Without DOCKER_TLS_VERIFY the docker CLI encrypts but trusts any
		// server certificate; doing otherwise would refuse hosts it reaches.
		InsecureSkipVerify: !verify,
		MinVersion:         tls.VersionTLS12,
	}
	// A client certificate is optional, as for the docker CLI: a server that
	// does not ask for one is reached without.
	if cert, key := filepath.Join(certs, "cert.pem"), filepath.Join(certs, "key.pem"); exists(cert) || exists(key) {
		opts.CertFile, opts.KeyFile = cert, key
	}
	if verify {
		opts.CAFile = filepath.Join(certs, "ca.pem")
		opts.ExclusiveRootPools = true
	}
	cfg, err := tlsconfig.Client(opts)
	if err != nil {
		return nil, fmt.Errorf("TLS from DOCKER_CERT_PATH=%s: %w; put ca.pem, cert.pem and key.pem there (docker context export shows them)", certs, err)
	}
	return cfg, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
