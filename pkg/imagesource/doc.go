// Package imagesource resolves the text a user writes for an existing image
// ("scratch", "oci:DIR", "tarball:FILE", "docker:NAME" or a registry reference) to a v1.Image.
package imagesource
