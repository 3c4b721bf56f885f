// Package controlplane runs a real Kubernetes control plane on loopback for tests:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler and the kwok
// controller with a few simulated nodes, from binaries that e2e/cluster/build.sh
// builds and caches. It depends on the standard library only, so that the command
// behind `make cluster-up` links in seconds.
package controlplane
