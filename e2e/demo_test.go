package e2e

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/testenv"
)

// TestDemo is `make demo` on a machine with a Docker engine: the sample image
// built without a daemon and the shop through BuildKit, both pushed.
func TestDemo(t *testing.T) {
	requireImage(t, "debian:trixie-slim")
	out, code := testenv.Run(t, nil, "demo")
	require.Equal(t, 0, code, out)
	for _, re := range []string{
		`(?m)^  127\.0\.0\.1:\d+/demo/hello@sha256:[0-9a-f]{64}$`,
		`(?m)^  127\.0\.0\.1:\d+/demo/shop@sha256:[0-9a-f]{64}$`,
		`(?m)^  127\.0\.0\.1:\d+/demo/shop:0\.1\.0$`,
		`(?m)^  127\.0\.0\.1:\d+/demo/shop:latest$`,
	} {
		assert.Regexp(t, regexp.MustCompile(re), out)
	}
	assert.NotContains(t, out, "skipped")
}
