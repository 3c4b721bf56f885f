// Package mask holds the one masker of a run: stages report the secret values
// they learn to it, and the edges (logs, outputs, summaries, errors) mask with it.
package mask
