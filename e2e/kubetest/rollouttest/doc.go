// Package rollouttest builds the workloads rollout and rollback tests deploy to
// the test cluster, and stands in for a kubelet where the simulated nodes have
// no behaviour to show (a container whose Secret is missing).
package rollouttest
