package e2e

import (
	"testing"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
)

// TestMain stops the test control plane, when a rollout test started one.
func TestMain(m *testing.M) { kubetest.Main(m) }
