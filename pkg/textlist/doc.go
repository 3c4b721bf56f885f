// Package textlist splits the lists that inputs and flags hold: items
// separated by commas or newlines, as GitHub Actions users write them.
package textlist
