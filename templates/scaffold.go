package templates

import "embed"

// Scaffold holds the templates of the files the generator writes where a
// repository has none: scaffold/dockerfile, scaffold/kubernetes and
// scaffold/monitoring.
//
//go:embed scaffold
var Scaffold embed.FS
