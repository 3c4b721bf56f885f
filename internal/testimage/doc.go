// Package testimage makes small images for tests, daemonless and offline: a static
// test server whose behaviour (ready or not, stopping or not) is set by its environment.
package testimage
