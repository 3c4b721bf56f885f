package textlist

import (
	"strings"
	"unicode"
)

// Split splits each text on commas and newlines, trims the items and drops
// empty ones: "a, b\nc" and "a\n\nb,c," are both [a b c].
func Split(texts ...string) []string {
	return split(texts, func(r rune) bool { return r == ',' || r == '\n' })
}

// Lines splits each text on newlines only, for items that may hold commas
// themselves; items are trimmed and empty ones dropped.
func Lines(texts ...string) []string {
	return split(texts, func(r rune) bool { return r == '\n' })
}

// Words splits each text on commas, newlines and white space, for lists of
// single words ("build,test push").
func Words(texts ...string) []string {
	return split(texts, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

func split(texts []string, sep func(rune) bool) []string {
	var out []string
	for _, t := range texts {
		for _, f := range strings.FieldsFunc(t, sep) {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}
