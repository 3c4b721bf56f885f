package push

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
)

// ErrPlainHTTP: a registry not listed as insecure would have been reached over
// plain HTTP.
var ErrPlainHTTP = errors.New("plain HTTP to a registry not listed as insecure")

// plainHTTPError is a request refused before it left: plain HTTP to a
// registry not listed in "insecure-registries".
type plainHTTPError struct{ registry string }

func (e *plainHTTPError) Error() string {
	return fmt.Sprintf("refused to reach registry %q over plain HTTP", e.registry)
}
func (e *plainHTTPError) Unwrap() error { return ErrPlainHTTP }

// guard keeps plain HTTP to the registries allowed it. ggcr falls back to
// plain HTTP by itself for loopback and private-range (RFC 1918) addresses
// when HTTPS fails, so Basic credentials could go out in clear to a registry
// nobody listed; the guard refuses such requests, and says when credentials
// do cross plain HTTP to a listed one.
type guard struct {
	rt       http.RoundTripper
	insecure map[string]bool
	warn     func(string)
	warned   sync.Map
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		host := req.URL.Host
		if !g.insecure[host] && !isLoopback(host) {
			return nil, &plainHTTPError{registry: host}
		}
		if req.Header.Get("Authorization") != "" {
			if _, done := g.warned.LoadOrStore(host, true); !done {
				g.warn(fmt.Sprintf("credentials for registry %s cross plain HTTP (it is listed in input \"insecure-registries\" or on loopback): anyone on the path can read them; serve it over HTTPS", host))
			}
		}
	}
	return g.rt.RoundTrip(req)
}

func isLoopback(hostport string) bool {
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
