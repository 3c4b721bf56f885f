// Package templates embeds the files deploy-action writes or ships: the demo's
// sample site today, and the generator's workflow, Dockerfile and manifest templates.
package templates

import "embed"

// Demo is the sample the demo command builds into an image: demo/site/...
//
//go:embed demo
var Demo embed.FS
