package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deploy-action/deploy-action/e2e/kubetest/rollouttest"
	"github.com/deploy-action/deploy-action/internal/testenv"
)

// TestDemoDeploy is `make demo` with everything there: the shop built through
// BuildKit, tested against PostgreSQL, pushed as acme/shop:0.1.0 and latest,
// deployed by digest, then a broken release caught with its cause and rolled
// back; the summary a workflow gets is on the terminal and in the Markdown
// and HTML files.
func TestDemoDeploy(t *testing.T) {
	requireImage(t, "debian:trixie-slim")
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	dir := t.TempDir()
	md, html := filepath.Join(dir, "summary.md"), filepath.Join(dir, "summary.html")
	out, code := testenv.Run(t, nil, "demo", "--kubeconfig-file", c.Kubeconfig, "--namespace", ns,
		"--summary-file", md, "--summary-file", html)
	require.Equal(t, 0, code, out)
	m := regexp.MustCompile(`(?m)^  (127\.0\.0\.1:\d+/acme/shop@sha256:[0-9a-f]{64})$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	pushed := m[1]
	for _, re := range []string{`(?m)^  127\.0\.0\.1:\d+/acme/shop:0\.1\.0$`, `(?m)^  127\.0\.0\.1:\d+/acme/shop:latest$`} {
		assert.Regexp(t, re, out)
	}
	assert.NotRegexp(t, `(?m)^skipped `, out, "everything ran")

	d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "shop", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, pushed, d.Spec.Template.Spec.Containers[0].Image, "back on the pushed digest")
	assert.Regexp(t, `The broken release was caught in [0-9.]+m?s \(CrashLoop: .*\) and rolled back; shop runs `+regexp.QuoteMeta(pushed)+` again\.`, out)

	// On the terminal: the summary laid out, no Markdown.
	assert.NotContains(t, out, "| ---")
	assert.Regexp(t, `(?m)^test\s+ok\s`, out, "the stage table")
	assert.Regexp(t, `(?m)^deployment/shop\s+`+ns+`\s+`+regexp.QuoteMeta(pushed)+`\s+2/2 available, 2 updated\s`, out)

	// The files: the same summary, every release in it, the broken one with its cause.
	b, err := os.ReadFile(md)
	require.NoError(t, err)
	s := string(b)
	assert.Contains(t, s, "### Release shop 0.1.0\n")
	assert.Contains(t, s, "### Image test ")
	assert.Regexp(t, "\\| ✅ pass \\| smoke \\|", s, "the smoke run against PostgreSQL")
	assert.Regexp(t, "\\| ✅ pass \\| structure \\|", s)
	assert.Regexp(t, "\\| ✅ pass \\| policy \\|", s)
	assert.Contains(t, s, "### Release shop, broken: caught and rolled back\n")
	assert.Contains(t, s, "❌ CrashLoop")
	assert.Contains(t, s, "#### Rollback: rolled back deployment/shop to revision 1, and the restore rolled out")
	h, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(h), "<h3>Release shop, broken: caught and rolled back</h3>")
	assert.Contains(t, string(h), "<h4>Rollback: rolled back deployment/shop to revision 1, and the restore rolled out")
	assert.Contains(t, string(h), "<td>❌ CrashLoop</td>")
}

// TestDemoDaemonless is the demo on a machine with no Docker engine: the
// daemonless sample released the same way, deployed, and a broken release
// caught and rolled back.
func TestDemoDaemonless(t *testing.T) {
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	ns := c.Namespace(t)
	md := filepath.Join(t.TempDir(), "summary.md")
	out, code := testenv.Run(t, []string{"DOCKER_HOST=unix:///nonexistent.sock"}, "demo", "--kubeconfig-file", c.Kubeconfig,
		"--namespace", ns, "--summary-file", md)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "skipped the shop (built through BuildKit, tested against PostgreSQL): no Docker engine answers")
	assert.Contains(t, out, "to include it: sudo hack/setup.sh\n")
	m := regexp.MustCompile(`(?m)^  (127\.0\.0\.1:\d+/demo/hello@sha256:[0-9a-f]{64})$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	d, err := c.Client.AppsV1().Deployments(ns).Get(context.Background(), "hello", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, m[1], d.Spec.Template.Spec.Containers[0].Image, "back on the pushed digest")
	assert.Regexp(t, `The broken release was caught in [0-9.]+m?s \(CrashLoop: .*\) and rolled back; hello runs `+regexp.QuoteMeta(m[1])+` again\.`, out)
	b, err := os.ReadFile(md)
	require.NoError(t, err)
	assert.Contains(t, string(b), "#### Rollback: rolled back deployment/hello to revision 1, and the restore rolled out")
}
