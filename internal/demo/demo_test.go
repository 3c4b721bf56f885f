package demo

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/internal/report"
)

func TestDemoWithoutShop(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rep := report.New(report.WithWriter(&out), report.WithGetenv(func(string) string { return "" }))
	err := Run(context.Background(), rep, Options{
		ShopDir: t.TempDir(), // no Dockerfile: the shop is skipped with the reason
		Now:     func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	require.NoError(t, err, out.String())
	got := out.String()
	assert.Regexp(t, regexp.MustCompile(`(?m)^  127\.0\.0\.1:\d+/demo/hello@sha256:[0-9a-f]{64}$`), got)
	assert.Regexp(t, regexp.MustCompile(`(?m)^  127\.0\.0\.1:\d+/demo/hello:0\.1\.0$`), got)
	assert.Regexp(t, regexp.MustCompile(`(?m)^  127\.0\.0\.1:\d+/demo/hello:latest$`), got)
	assert.Contains(t, got, "shop: skipped (no Dockerfile in")
	assert.Contains(t, got, "Next: build, test, push and deploy your own repository")
}
