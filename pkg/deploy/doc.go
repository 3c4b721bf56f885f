// Package deploy is the deploy stage: it renders a repository's manifests, pins
// their images to the pushed digest, applies them, watches the rollout to a
// verdict and rolls back what failed.
package deploy
