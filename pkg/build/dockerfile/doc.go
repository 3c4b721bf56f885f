// Package dockerfile builds a Dockerfile with the BuildKit embedded in a Docker
// engine, driven over the engine API (no docker CLI), and reads the result back as a v1.Image.
package dockerfile
