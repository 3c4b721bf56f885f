// Package registryhttp is the HTTP transport every registry request of
// deploy-action goes through, whichever stage sends it (the push, the read of a
// base image): bounded waits for a registry's answer, and plain HTTP only to
// the registries allowed it.
package registryhttp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// DefaultTimeout bounds the wait for a registry's answer to each request, once
// the request is sent: a registry that accepts and never answers must not hold
// a job until the CI's own limit.
const DefaultTimeout = 30 * time.Second

// ErrPlainHTTP: a registry not listed as insecure would have been reached over
// plain HTTP.
var ErrPlainHTTP = errors.New("plain HTTP to a registry not listed as insecure")

// PlainHTTPError is a request refused before it left: plain HTTP to a
// registry not listed as insecure.
type PlainHTTPError struct{ Registry string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("refused to reach registry %q over plain HTTP", e.Registry)
}

// Unwrap makes errors.Is(err, ErrPlainHTTP) true.
func (e *PlainHTTPError) Unwrap() error { return ErrPlainHTTP }

// Config says how registries are reached.
type Config struct {
	// Timeout bounds the wait for each response's headers, counted from when
	// the request, body included, is sent (so a large upload is not cut
	// short), and each TLS handshake. Zero means DefaultTimeout.
	Timeout time.Duration
	// TLS, when set, replaces the default TLS configuration (a private CA).
	TLS *tls.Config
	// Insecure lists the registries ("host:port") that may be reached over
	// plain HTTP; loopback ones always may.
	Insecure map[string]bool
	// Warn receives a warning the first time credentials cross plain HTTP to
	// a registry; nil drops it.
	Warn func(string)
	// Listed names Insecure in the warning as the user set it (a stage's
	// field.Names gives it); default "the insecure registries".
	Listed string
}

// New returns ggcr's default transport (keep-alives, HTTP/2, the proxy from
// the environment) with the timeouts of c, behind a guard that keeps plain
// HTTP to the registries c allows.
func New(c Config) (http.RoundTripper, error) {
	base, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, errors.New("registryhttp: remote.DefaultTransport is not an *http.Transport")
	}
	t := base.Clone()
	if c.TLS != nil {
		t.TLSClientConfig = c.TLS
	}
	d := c.Timeout
	if d <= 0 {
		d = DefaultTimeout
	}
	t.ResponseHeaderTimeout = d
	if t.TLSHandshakeTimeout == 0 || t.TLSHandshakeTimeout > d {
		t.TLSHandshakeTimeout = d
	}
	return Guard(t, c.Insecure, c.Listed, c.Warn), nil
}

// Guard wraps a transport so that plain HTTP goes only to the registries in
// insecure and to loopback ones. ggcr falls back to plain HTTP by itself for
// loopback and private-range (RFC 1918) addresses when HTTPS fails, so Basic
// credentials could go out in clear to a registry nobody listed; the guard
// refuses such requests, and warns once per registry when credentials do
// cross plain HTTP to an allowed one. listed names insecure in the warning,
// as Config.Listed.
func Guard(rt http.RoundTripper, insecure map[string]bool, listed string, warn func(string)) http.RoundTripper {
	if warn == nil {
		warn = func(string) {}
	}
	if listed == "" {
		listed = "the insecure registries"
	}
	return &guard{rt: rt, insecure: insecure, listed: listed, warn: warn}
}

type guard struct {
	rt       http.RoundTripper
	insecure map[string]bool
	listed   string
	warn     func(string)
	warned   sync.Map
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		host := req.URL.Host
		if !g.insecure[host] && !IsLoopback(host) {
			return nil, &PlainHTTPError{Registry: host}
		}
		if req.Header.Get("Authorization") != "" {
			if _, done := g.warned.LoadOrStore(host, true); !done {
				g.warn(fmt.Sprintf("credentials for registry %s cross plain HTTP (it is listed in %s or on loopback): anyone on the path can read them; serve it over HTTPS", host, g.listed))
			}
		}
	}
	return g.rt.RoundTrip(req)
}

// IsLoopback reports whether a "host[:port]" names this machine.
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
