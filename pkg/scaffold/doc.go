// Package scaffold writes the delivery files a repository is missing: a Dockerfile
// and .dockerignore, Kubernetes manifests (a kustomize base with staging and
// production overlays) and monitoring (ServiceMonitor, SLO alerts, dashboard).
package scaffold
