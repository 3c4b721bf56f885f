package push

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/deploy-action/deploy-action/pkg/field"
	"github.com/deploy-action/deploy-action/pkg/mask"
)

// Kinds of failure a caller may act on, matched with errors.Is. The causes stay
// reachable with errors.As (e.g. *transport.Error).
var (
	// ErrUnreachable: the registry did not answer (refused, unknown host, timeout).
	ErrUnreachable = errors.New("registry unreachable")
	// ErrUnauthorized: the registry wants credentials, or rejected the ones sent (401).
	ErrUnauthorized = errors.New("registry rejected the credentials")
	// ErrDenied: the credentials are valid but may not push there (403).
	ErrDenied = errors.New("registry denied the push")
	// ErrUntrusted: the registry's TLS certificate is not trusted, or it speaks plain HTTP.
	ErrUntrusted = errors.New("registry TLS not trusted")
)

// pushError is a user-facing message over its kind and its cause. Its text is
// redacted, and so is every error reachable from it (see classifier.wrap).
type pushError struct {
	msg   string
	kind  error
	cause error
}

func (e *pushError) Error() string { return e.msg }

func (e *pushError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.cause}
	}
	return []error{e.kind, e.cause}
}

// classifier turns what go-containerregistry returns into a message that names
// the registry, what went wrong and the fix.
type classifier struct {
	// names names the settings a fix refers to.
	names     field.Names
	registry  string
	repo      string
	user      string
	anonymous bool
	secrets   secrets
	timeout   time.Duration
	// done reports whether the push's own context ended, to tell a
	// registry that never answered from a cancelled push.
	done func() bool
}

func (c classifier) classify(err error) error {
	if err == nil {
		return nil
	}
	var nerr net.Error
	if c.done != nil && !c.done() && errors.As(err, &nerr) && nerr.Timeout() {
		if _, dial := unreachable(err); !dial {
			return c.wrap(ErrUnreachable, err, fmt.Sprintf(`registry %q sent no answer within %s; check that it is up (a registry that accepts connections and never answers looks like this)`, c.registry, c.timeout))
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return c.wrap(nil, err, fmt.Sprintf("pushing to %s: %s", c.repo, c.secrets.redact(err.Error())))
	}

	// A certificate problem comes first: on loopback the plain-HTTP fallback
	// of the ping fails too, and its answer would hide the real cause.
	if reason, ok := untrusted(err, c.names); ok {
		return c.wrap(ErrUntrusted, err, fmt.Sprintf(`registry %q %s`, c.registry, reason))
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch {
		case terr.StatusCode == http.StatusUnauthorized || hasCode(terr, transport.UnauthorizedErrorCode):
			if c.anonymous {
				return c.wrap(ErrUnauthorized, err, fmt.Sprintf(`registry %q requires credentials to push to %s; set %s and %s, or log in with docker login`, c.registry, c.repo, c.names.Of(FieldUsername), c.names.Of(FieldPassword)))
			}
			return c.wrap(ErrUnauthorized, err, fmt.Sprintf(`registry %q rejected the credentials of user %q; set %s and %s, or log in with docker login`, c.registry, c.user, c.names.Of(FieldUsername), c.names.Of(FieldPassword)))
		case terr.StatusCode == http.StatusForbidden || hasCode(terr, transport.DeniedErrorCode):
			who := "the credentials lack"
			if c.anonymous {
				who = "anonymous users lack"
			} else if c.user != "" {
				who = fmt.Sprintf("user %q lacks", c.user)
			}
			return c.wrap(ErrDenied, err, fmt.Sprintf("registry %q denied push to %s; %s write access", c.registry, c.repo, who))
		}
		return c.wrap(nil, err, fmt.Sprintf("pushing to %s: %s", c.repo, c.secrets.redact(err.Error())))
	}

	if errors.Is(err, ErrPlainHTTP) {
		return c.wrap(ErrUntrusted, err, fmt.Sprintf(`registry %q does not answer over HTTPS, and plain HTTP is refused for a registry %s does not list (its credentials would cross in clear); serve it over HTTPS, or list it there if plain HTTP is intended`, c.registry, c.names.Of(FieldInsecure)))
	}
	if plainHTTP(err) {
		return c.wrap(ErrUntrusted, err, fmt.Sprintf(`registry %q answers in plain HTTP, not HTTPS; list it in %s if that is intended`, c.registry, c.names.Of(FieldInsecure)))
	}
	if reason, ok := unreachable(err); ok {
		return c.wrap(ErrUnreachable, err, fmt.Sprintf(`registry %q is unreachable: %s; check the address in %s and that the registry is up`, c.registry, reason, c.names.Of(FieldRepos)))
	}
	return c.wrap(nil, err, fmt.Sprintf("pushing to %s: %s", c.repo, c.secrets.redact(err.Error())))
}

func (c classifier) wrap(kind, cause error, msg string) error {
	// A cause whose text carries a secret (a registry that echoes the
	// Authorization header, say) is replaced by its redacted text: keeping it
	// for errors.As would hand the secret to whoever prints what they find.
	if text := cause.Error(); c.secrets.redact(text) != text {
		cause = errors.New(c.secrets.redact(text))
	}
	return &pushError{msg: c.secrets.redact(msg), kind: kind, cause: cause}
}

func hasCode(e *transport.Error, code transport.ErrorCode) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// untrusted recognises certificate failures and says what to do about them.
func untrusted(err error, names field.Names) (string, bool) {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	fix := "; give its CA certificate in " + names.Of(FieldCAFile)
	switch {
	case errors.As(err, &unknown):
		return "presented a TLS certificate signed by an unknown authority" + fix, true
	case errors.As(err, &hostname):
		return fmt.Sprintf("presented a TLS certificate for another host (%v); use the name the certificate was issued for in %s", hostname.Error(), names.Of(FieldRepos)), true
	case errors.As(err, &invalid):
		return fmt.Sprintf("presented an invalid TLS certificate (%v)%s", invalid.Error(), fix), true
	case errors.As(err, &verify):
		return fmt.Sprintf("presented a TLS certificate that is not trusted (%v)%s", verify.Err, fix), true
	}
	return "", false
}

// plainHTTP recognises a registry that answered an HTTPS request in plain HTTP.
func plainHTTP(err error) bool {
	var header tls.RecordHeaderError
	return errors.As(err, &header) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// unreachable recognises failures to connect at all, as opposed to a
// connection that broke halfway.
func unreachable(err error) (string, bool) {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsNotFound {
			return fmt.Sprintf("no such host %q", dns.Name), true
		}
		return fmt.Sprintf("cannot resolve %q (%v)", dns.Name, dns.Err), true
	}
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return "", false
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host", true
	case op.Timeout():
		return "connection timed out", true
	}
	return op.Err.Error(), true
}

// retryable says whether a failed request is worth sending again: transient
// server answers (the status codes in retryStatusCodes arrive here as
// temporary transport errors) and connections that dropped. A refused
// connection, a 4xx or a cancelled context is final.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		return terr.Temporary()
	}
	if _, ok := untrusted(err, nil); ok || plainHTTP(err) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return true
	}
	// HTTP/2 streams reset by a proxy or a GOAWAY during a rolling restart.
	msg := err.Error()
	return strings.Contains(msg, "http2: server sent GOAWAY") || strings.Contains(msg, "stream error")
}

// secrets are the credential strings that must never appear in a message,
// masked by the one masker implementation (pkg/mask).
type secrets struct {
	values []string
	m      *mask.Masker
}

func secretsOf(cfg *authn.AuthConfig) secrets {
	s := secrets{m: &mask.Masker{}}
	if cfg == nil {
		return s
	}
	add := func(v string) {
		if v != "" {
			s.values = append(s.values, v)
			s.m.Add(v)
		}
	}
	add(cfg.Password)
	add(cfg.Auth)
	add(cfg.IdentityToken)
	add(cfg.RegistryToken)
	if cfg.Password != "" {
		// What a Basic Authorization header carries.
		add(base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password)))
	}
	return s
}

func (s secrets) redact(msg string) string {
	if s.m == nil { // no credentials
		return msg
	}
	return s.m.Mask(msg)
}
