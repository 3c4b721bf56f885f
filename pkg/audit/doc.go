// Package audit checks GitHub Actions workflows for security and delivery faults (injection, pins,
// permissions, credentials, deploys without tests, rollback or approval), with actionlint in-process.
package audit
