package kube

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Kinds of failure a caller may act on, matched with errors.Is; the cause stays
// reachable with errors.As.
var (
	// ErrUnreachable: the API server did not answer (refused, unknown host,
	// timeout, connection reset).
	ErrUnreachable = errors.New("kubernetes API server unreachable")
	// ErrUntrusted: the server's TLS certificate is not signed by the CA the
	// configuration trusts, or is for another name.
	ErrUntrusted = errors.New("kubernetes API server certificate not trusted")
	// ErrUnauthorized: the server rejected the credentials (401).
	ErrUnauthorized = errors.New("kubernetes API server rejected the credentials")
)

// Error is an error about reaching a cluster: what went wrong and the fix.
type Error struct {
	// Server is the API server's URL.
	Server string
	msg    string
	kind   error
	cause  error
}

func (e *Error) Error() string { return e.msg }

func (e *Error) Unwrap() []error { return []error{e.kind, e.cause} }

// Explain turns the error of a request to the API server at server into an
// *Error naming the server and the fix when it is about reaching the server at
// all (refused, timeout, unknown host, untrusted certificate, rejected
// credentials). Other errors, and nil, come back unchanged. timeout is the limit
// the request had, for the message; zero when there was none.
func Explain(server string, timeout time.Duration, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	mk := func(kind error, format string, args ...any) error {
		return &Error{Server: server, msg: fmt.Sprintf(format, args...), kind: kind, cause: err}
	}
	if apierrors.IsUnauthorized(err) {
		return mk(ErrUnauthorized, "the Kubernetes API server at %s rejected the credentials (401 Unauthorized); the token or client certificate has expired, was revoked or is for another cluster: get a fresh kubeconfig for this cluster", server)
	}
	if reason, ok := untrusted(err); ok {
		return mk(ErrUntrusted, "the Kubernetes API server at %s %s; the kubeconfig's certificate-authority-data must be the cluster's CA (get a fresh kubeconfig), or the server address is wrong", server, reason)
	}
	var uerr *url.Error
	var nerr net.Error
	var dns *net.DNSError
	const fix = "check the server address in the kubeconfig and that the cluster is running; a private cluster's endpoint answers only inside its network (use a self-hosted runner there)"
	switch {
	case errors.As(err, &dns):
		return mk(ErrUnreachable, "cannot reach the Kubernetes API server at %s: the name %s does not resolve; %s", server, dns.Name, fix)
	case errors.Is(err, syscall.ECONNREFUSED):
		return mk(ErrUnreachable, "cannot reach the Kubernetes API server at %s: connection refused; %s", server, fix)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &nerr) && nerr.Timeout():
		within := ""
		if timeout > 0 {
			within = " within " + timeout.String()
		}
		return mk(ErrUnreachable, "cannot reach the Kubernetes API server at %s: no answer%s; %s (a firewall that drops packets looks like this)", server, within, fix)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.As(err, &uerr) && isTransport(uerr):
		return mk(ErrUnreachable, "cannot reach the Kubernetes API server at %s: %s; %s", server, lastCause(err), fix)
	}
	return err
}

// isTransport tells a failed HTTP exchange (the server never answered) from an
// answer client-go could not use.
func isTransport(u *url.Error) bool {
	var op *net.OpError
	return errors.As(u.Err, &op) || strings.Contains(u.Err.Error(), "EOF") || strings.Contains(u.Err.Error(), "connection reset")
}

func untrusted(err error) (string, bool) {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return "presents a certificate signed by an authority the kubeconfig does not trust", true
	case errors.As(err, &host):
		return fmt.Sprintf("presents a certificate for another name (%v)", host.Error()), true
	case errors.As(err, &invalid):
		return fmt.Sprintf("presents an invalid certificate (%v)", invalid.Error()), true
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "speaks plain HTTP, but the kubeconfig says https", true
	}
	return "", false
}

// lastCause is the innermost message, without the request line ("Get \"https://...\": ").
func lastCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
