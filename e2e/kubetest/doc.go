// Package kubetest gives tests a Kubernetes cluster: a real control plane
// (kube-apiserver, controller manager, scheduler, etcd) with nodes and pods
// simulated by kwok, started once per test package, or an existing cluster named
// by $E2E_KUBECONFIG (kind with real pods, on CI runners that have it).
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
//
//	func TestRollout(t *testing.T) {
//		c := kubetest.Cluster(t)
//		ns := c.Namespace(t)
//		... c.Client.AppsV1().Deployments(ns).Create(...)
//	}
//
// In the simulated cluster a container's image chooses how its pod behaves:
// Image(Crash, "1") is example.com/crash:1, which crash-loops; see Behaviour.
package kubetest
