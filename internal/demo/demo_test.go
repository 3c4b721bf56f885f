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

// TestDemoWithoutShop: with no shop to build and no cluster, the demo
// releases the daemonless sample, and names each part it skipped with the
// command that enables it.
func TestDemoWithoutShop(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	rep := report.New(report.WithWriter(&out), report.WithGetenv(func(string) string { return "" }))
	dir := t.TempDir()
	res, err := Run(context.Background(), rep, Options{
		ShopDir: dir, // no Dockerfile
		Now:     func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) },
	})
	require.NoError(t, err, out.String())
	got := out.String()
	require.Len(t, res.Refs, 3)
	assert.Regexp(t, `^127\.0\.0\.1:\d+/demo/hello@sha256:[0-9a-f]{64}$`, res.Refs[0])
	assert.Regexp(t, `^127\.0\.0\.1:\d+/demo/hello:0\.1\.0$`, res.Refs[1])
	assert.Regexp(t, `^127\.0\.0\.1:\d+/demo/hello:latest$`, res.Refs[2])
	for _, r := range res.Refs {
		assert.Contains(t, got, "\n  "+r+"\n")
	}
	assert.Equal(t, []Skip{
		{Part: "the shop (built through BuildKit, tested against PostgreSQL)", Reason: "no Dockerfile in " + dir, Enable: "make demo (from the repository's checkout)"},
		{Part: "deploy", Reason: "no cluster to deploy to (the test control plane is not built)", Enable: EnableCluster},
	}, res.Skipped)
	assert.Contains(t, got, "skipped deploy: no cluster to deploy to (the test control plane is not built); to include it: make cluster-build\n")
	assert.Nil(t, res.Broken)

	// The summary a workflow gets, laid out for the terminal and kept as Markdown.
	assert.Regexp(t, regexp.MustCompile(`(?m)^Release hello 0\.1\.0$`), got)
	assert.Regexp(t, regexp.MustCompile(`(?m)^127\.0\.0\.1:\d+/demo/hello\s+pushed\s+`), got)
	md := rep.SummaryMarkdown()
	assert.Contains(t, md, "### Release hello 0.1.0\n")
	assert.Contains(t, md, "**Tags:** `0.1.0`, `latest`")
	assert.Contains(t, got, "Next: build, test, push and deploy your own repository")
}
