// Package kube connects to a Kubernetes cluster: it loads the credentials from a
// kubeconfig file, from kubeconfig content held in a secret, or from a pod's
// service account, and checks early that the API server answers.
package kube
