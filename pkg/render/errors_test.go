package render

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyntaxErrorLines: the line reported is the one to look at, whether the
// YAML library numbered it from 0 (parser errors, at the enclosing structure)
// or from 1 (scanner errors).
func TestSyntaxErrorLines(t *testing.T) {
	t.Parallel()
	const head = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
	for _, tc := range []struct {
		name string
		doc  string
		line int
	}{
		{"unclosed flow mapping", head + "data:\n  a: {b: c\n  d: e\n", 6},
		{"unclosed flow sequence", head + "data: [a, b\n", 5},
		{"bad indent", head + "   bad: indent\n", 5},
		{"tab", "apiVersion: v1\nkind: ConfigMap\n\tmetadata: x\n", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.doc))
			var se *SyntaxError
			require.True(t, errors.As(err, &se), "%v", err)
			assert.Equal(t, tc.line, se.Line, se.Error())
		})
	}
}
