package rollout_test

import (
	"testing"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
)

// The e2e tests start the test control plane on first use; the unit tests need
// none.
func TestMain(m *testing.M) { kubetest.Main(m) }
