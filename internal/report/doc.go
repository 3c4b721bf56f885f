// Package report tells people and machines what a run did: step logs and groups,
// error annotations, outputs and the job summary, with every secret masked.
package report
