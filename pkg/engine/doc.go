// Package engine makes the Docker engine client that every stage of a run
// shares: its address, TLS and API version come from options or from the
// environment the docker CLI reads (DOCKER_HOST, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH, DOCKER_API_VERSION), read through an injected getenv.
//
// It is a public package, not pkg/internal, because the application layer
// (internal/cli, internal/demo) makes the client and hands it to the stages,
// and because a program using the stage packages needs the same connection
// rules to hand them a client of its own.
package engine
