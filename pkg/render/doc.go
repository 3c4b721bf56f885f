// Package render turns a repository's manifests (plain YAML files, a kustomization
// or a Helm chart) into Kubernetes objects, keeping their comments and key order.
package render
