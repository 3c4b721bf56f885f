// Package smoke runs an image through a Docker engine the way a release would: its
// services first, then the image, readiness, the project's test command, and a graceful stop.
package smoke
