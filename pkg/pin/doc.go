// Package pin rewrites the container images of rendered Kubernetes objects to
// the pushed image's digest, by parsing the YAML tree and each image reference,
// never by matching text.
package pin
