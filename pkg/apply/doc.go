// Package apply writes a release's objects to a cluster with server-side apply:
// Namespaces and CustomResourceDefinitions first, then the rest in a stable
// order, recording what each workload was before so that it can be rolled back.
package apply
