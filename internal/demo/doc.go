// Package demo runs the pipeline on embedded defaults with nothing configured:
// an in-process registry on loopback, a daemonless sample image, and the sample
// shop through BuildKit when a Docker engine answers.
package demo
