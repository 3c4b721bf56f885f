package kube_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
	"github.com/deploy-action/deploy-action/pkg/kube"
)

// BenchmarkConnect times Connect against the test cluster: loading the
// kubeconfig, making the clients and the /version check.
func BenchmarkConnect(b *testing.B) {
	c := kubetest.Cluster(b)
	for b.Loop() {
		_, err := kube.Connect(b.Context(), kube.Access{Kubeconfig: c.Kubeconfig})
		require.NoError(b, err)
	}
}
