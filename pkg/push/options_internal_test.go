package push

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// WithInsecure cannot be observed end to end without a registry on a
// non-loopback address, so the scheme it selects is checked here.
func TestWithInsecureSelectsPlainHTTP(t *testing.T) {
	t.Parallel()
	p, err := New(WithInsecure("registry.internal:5000"))
	require.NoError(t, err)
	tests := []struct {
		repo   string
		scheme string
	}{
		{repo: "registry.internal:5000/team/app", scheme: "http"},
		{repo: "registry.internal:5001/team/app", scheme: "https"},
		{repo: "ghcr.io/acme/app", scheme: "https"},
		{repo: "127.0.0.1:5000/app", scheme: "http"}, // loopback: go-containerregistry falls back to HTTP
	}
	for _, tc := range tests {
		repo, err := p.parseRepository(tc.repo)
		require.NoError(t, err)
		assert.Equal(t, tc.scheme, repo.Scheme(), tc.repo)
	}
}

// TestGuardRefusesPlainHTTP: ggcr falls back to plain HTTP by itself for
// private-range addresses; the transport refuses it unless the registry is
// listed, and warns when credentials cross plain HTTP to a listed one.
func TestGuardRefusesPlainHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(srv.Close)
	var warnings []string
	o, err := makeOptions([]Option{WithInsecure("10.1.2.3:5000"), WithWarnings(func(s string) { warnings = append(warnings, s) })})
	require.NoError(t, err)

	req, _ := http.NewRequest(http.MethodGet, "http://192.168.7.7:5000/v2/", nil)
	req.Header.Set("Authorization", "Basic c2VjcmV0")
	_, err = o.transport.RoundTrip(req)
	require.ErrorIs(t, err, ErrPlainHTTP, "an unlisted private-range registry never gets plain HTTP")
	c := classifier{registry: "192.168.7.7:5000"}
	assert.ErrorIs(t, c.classify(err), ErrUntrusted)
	assert.Contains(t, c.classify(err).Error(), "plain HTTP is refused for a registry "+FieldInsecure+" does not list")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://10.1.2.3:5000/v2/", nil)
	_, err = o.transport.RoundTrip(req)
	assert.NotErrorIs(t, err, ErrPlainHTTP, "a listed registry may")

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/v2/", nil)
	req.Header.Set("Authorization", "Basic c2VjcmV0")
	for range 2 {
		resp, err := o.transport.RoundTrip(req)
		require.NoError(t, err, "loopback may")
		resp.Body.Close()
	}
	require.Len(t, warnings, 1, "once per registry")
	assert.Contains(t, warnings[0], "credentials for registry "+strings.TrimPrefix(srv.URL, "http://")+" cross plain HTTP")
	assert.NotContains(t, warnings[0], "c2VjcmV0")
}
