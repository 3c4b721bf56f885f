package e2e

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/deploy-action/deploy-action/internal/demo"
	"github.com/deploy-action/deploy-action/internal/testenv"
	"github.com/deploy-action/deploy-action/pkg/rollout/rollouttest"
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

// TestDemoDeploy is `make demo` with the test control plane built: the sample
// deployed by digest, then a broken release caught and rolled back.
func TestDemoDeploy(t *testing.T) {
	c := rollouttest.Cluster(t)
	c.RequireSimulation(t)
	out, code := testenv.Run(t, nil, "demo", "--shop", "", "--kubeconfig-file", c.Kubeconfig)
	require.Equal(t, 0, code, out)
	m := regexp.MustCompile(`(?m)^  (127\.0\.0\.1:\d+/demo/hello@sha256:[0-9a-f]{64})$`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	d, err := c.Client.AppsV1().Deployments(demo.Namespace).Get(context.Background(), "hello", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, m[1], d.Spec.Template.Spec.Containers[0].Image, "back on the pushed digest")
	assert.Regexp(t, `The broken release was caught in [0-9.]+m?s \(CrashLoop: .*\) and rolled back; hello runs `+regexp.QuoteMeta(m[1])+` again\.`, out)
	// The first release: a new deploy, or an update of an earlier demo's.
	assert.Regexp(t, "\\| `deployment/hello` \\| "+demo.Namespace+" \\| (\\S+ → )?"+regexp.QuoteMeta(m[1])+" \\| 2/2 available, 2 updated \\|", out)
}
