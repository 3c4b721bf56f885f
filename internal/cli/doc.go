// Package cli wires the deploy-action commands: flags, and in GitHub Actions the
// action inputs, become stage options; all behaviour lives in pkg/.
package cli
