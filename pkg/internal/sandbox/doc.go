// Package sandbox keeps what a test run creates on a Docker engine (containers,
// networks, volumes, loaded images) under one run-unique label, and removes it all together.
package sandbox
