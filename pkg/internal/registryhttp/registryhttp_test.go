package registryhttp_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/pkg/internal/registryhttp"
)

// ggcr falls back to plain HTTP by itself for private-range addresses; the
// transport refuses it before anything is sent unless the registry is listed,
// and warns once per registry when credentials cross plain HTTP to an allowed
// one, without the credentials.
func TestGuard(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	var warnings []string
	rt, err := registryhttp.New(registryhttp.Config{
		Insecure: map[string]bool{strings.TrimPrefix(srv.URL, "http://"): true},
		Warn:     func(s string) { warnings = append(warnings, s) },
	})
	require.NoError(t, err)

	req, _ := http.NewRequest(http.MethodGet, "http://192.168.7.7:5000/v2/", nil)
	req.Header.Set("Authorization", "Basic c2VjcmV0")
	_, err = rt.RoundTrip(req)
	require.ErrorIs(t, err, registryhttp.ErrPlainHTTP)
	var pe *registryhttp.PlainHTTPError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "192.168.7.7:5000", pe.Registry)

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/v2/", nil)
	req.Header.Set("Authorization", "Basic c2VjcmV0")
	for range 2 {
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err, "a listed registry may")
		resp.Body.Close()
	}
	require.Len(t, warnings, 1, "once per registry")
	assert.NotContains(t, warnings[0], "c2VjcmV0")
	assert.Contains(t, warnings[0], "(it is listed in the insecure registries or on loopback)", "the list, named by default")

	// Without a Warn, nothing is printed and nothing panics.
	rt, err = registryhttp.New(registryhttp.Config{})
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err, "loopback may")
	resp.Body.Close()
}

// A registry that accepts and never answers: the request ends with the
// transport's timeout, not the caller's far later deadline.
func TestTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	conns := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c // held open, never answered
		}
	}()
	t.Cleanup(func() {
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
	rt, err := registryhttp.New(registryhttp.Config{Timeout: 100 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/v2/", nil)
	_, err = rt.RoundTrip(req)
	require.Error(t, err)
	require.NoError(t, ctx.Err())
	var ne net.Error
	assert.True(t, errors.As(err, &ne) && ne.Timeout(), "a timeout: %v", err)
}
