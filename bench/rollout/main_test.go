package rolloutbench

import (
	"testing"

	"github.com/deploy-action/deploy-action/e2e/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }
