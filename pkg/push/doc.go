// Package push writes one image to several registries at once: blobs first, then the
// manifest by digest, then the tags, so a tag never points at a partial image.
package push
