package push

import (
	"testing"

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
