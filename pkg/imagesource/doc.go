// Package imagesource parses the text a user writes for an existing image ("scratch", "oci:DIR[@sha256:...]",
// "tarball:FILE", "docker:NAME" or a registry reference) into a Source, and reads the v1.Image it names.
package imagesource
