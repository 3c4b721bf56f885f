// Package policy checks an image against rules read from the image itself (user,
// secrets in layers, size, labels, ports, exec-form entrypoint), with no daemon.
package policy
