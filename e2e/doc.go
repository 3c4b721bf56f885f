// Package e2e holds the end-to-end tests: the deploy-action binary driven as a
// user drives it, against a real Docker engine, real registry servers and, for
// rollouts, a real Kubernetes control plane. Missing parts skip the tests with
// the reason on a laptop and fail them in CI.
package e2e
