// Package field says which field of a stage's configuration an error is
// about, so that the layer that owns the names users write (action inputs,
// flags) can name it in their terms: stages know fields, not inputs.
package field
