// Package summary renders a pipeline run as the job summary a workflow gets,
// shared by the commands and the demo.
package summary
