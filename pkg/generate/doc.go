// Package generate writes a repository's delivery files from what detection
// found: the CI/CD workflow, dependabot's configuration and the generator's own
// config file, through parts that each return files, rendered from templates.
package generate
