// Package detect reads a repository as a maintainer would: its services, their
// language, framework, port, tests, backing services, migrations and metrics,
// and the delivery files it already has, each fact with the file and line it
// came from. The generator writes what is missing from what it finds.
package detect
