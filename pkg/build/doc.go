// Package build turns sources into a container image. Each backend (BuildKit
// through a Docker engine, or daemonless layering on a base image) implements Interface.
package build
