// Package testenv gives tests the real parts they need (a Docker engine, a registry
// server, tools) and decides what happens when one is missing: a skip that says why
// on a laptop, a failure in CI, where nothing may be skipped.
package testenv
