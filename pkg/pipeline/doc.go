// Package pipeline composes the stages (build, test, push, ...) into one run whose
// values flow one way, and records what each stage produced and how long it took.
package pipeline
