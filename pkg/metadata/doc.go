// Package metadata computes what an image is called and says about itself: tags from
// a tag policy and the CI context, and OCI labels and annotations.
package metadata
