package engine_test

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/engine"
)

// fakeEngine answers the engine's ping on a loopback port with mutual TLS, and
// records the paths asked for.
func fakeEngine(t *testing.T) (addr, certs string, paths func() []string) {
	certs = t.TempDir()
	cert, pool := testenv.TLSCerts(t, certs)
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		w.Header().Set("Api-Version", "1.41")
		_, _ = w.Write([]byte("OK"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "https://"), certs, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestTLSFromEnvironment(t *testing.T) {
	addr, certs, paths := fakeEngine(t)
	api, err := engine.New(engine.WithGetenv(env(map[string]string{
		"DOCKER_HOST": "tcp://" + addr, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs, "DOCKER_API_VERSION": "1.41",
	})))
	require.NoError(t, err)
	defer api.Close()
	_, err = api.Ping(t.Context(), client.PingOptions{})
	require.NoError(t, err)
	_, err = api.ImageInspect(t.Context(), "x")
	assert.Error(t, err, "the fake engine answers OK, not an image")
	assert.Contains(t, paths(), "/v1.41/images/x/json", "DOCKER_API_VERSION picks the API version")
}

func TestTLSRefused(t *testing.T) {
	addr, certs, _ := fakeEngine(t)
	// Only the CA: the server's certificate checks out, but the server asks
	// for a client certificate the client does not have.
	caOnly := t.TempDir()
	ca, err := os.ReadFile(filepath.Join(certs, "ca.pem"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(caOnly, "ca.pem"), ca, 0o600))
	// Another CA: the server's certificate is refused.
	other := t.TempDir()
	testenv.TLSCerts(t, other)
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"no TLS", map[string]string{"DOCKER_HOST": "tcp://" + addr}},
		{"no client certificate", map[string]string{"DOCKER_HOST": "tcp://" + addr, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": caOnly}},
		{"another CA", map[string]string{"DOCKER_HOST": "tcp://" + addr, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": other}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, err := engine.New(engine.WithGetenv(env(tc.env)))
			require.NoError(t, err)
			defer api.Close()
			_, err = api.Ping(t.Context(), client.PingOptions{})
			assert.Error(t, err)
		})
	}
}

func TestHost(t *testing.T) {
	assert.Equal(t, engine.DefaultHost, engine.Host("", env(nil)))
	assert.Equal(t, "tcp://10.0.0.1:2376", engine.Host("", env(map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2376"})))
	assert.Equal(t, "unix:///x.sock", engine.Host("unix:///x.sock", env(map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2376"})))

	api, err := engine.New(engine.WithHost("unix:///x.sock"), engine.WithGetenv(env(map[string]string{"DOCKER_HOST": "tcp://10.0.0.1:2376"})))
	require.NoError(t, err)
	assert.Equal(t, "unix:///x.sock", api.DaemonHost())
	api.Close()
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []engine.Option
		want string
	}{
		{"empty host", []engine.Option{engine.WithHost("")}, "the host is empty"},
		{"nil getenv", []engine.Option{engine.WithGetenv(nil)}, "the function is nil"},
		{"bad host", []engine.Option{engine.WithHost("ftp//x")}, "set DOCKER_HOST"},
		{"no certificates", []engine.Option{engine.WithGetenv(env(map[string]string{"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/nonexistent"}))}, "DOCKER_CERT_PATH=/nonexistent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.New(tc.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.name == "bad host" || tc.name == "no certificates" {
				assert.True(t, errors.Is(err, engine.ErrHost))
			}
		})
	}
}
