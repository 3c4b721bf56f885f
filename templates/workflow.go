package templates

import "embed"

// Workflow holds the generator's workflow templates: workflow/deploy.yml.tmpl
// (the CI/CD workflow, with its jobs in workflow/jobs.tmpl) and
// workflow/dependabot.yml.tmpl.
//
//go:embed workflow
var Workflow embed.FS
