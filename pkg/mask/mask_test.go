package mask_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/deploy-action/deploy-action/pkg/mask"
)

func TestMasker(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"none", nil, "hello", "hello"},
		{"one", []string{"s3cr3t"}, "pw=s3cr3t!", "pw=***!"},
		{"twice", []string{"s3cr3t"}, "s3cr3t s3cr3t", "*** ***"},
		{"nested, longest first", []string{"abc", "abcdef"}, "x abcdef y abc", "x *** y ***"},
		{"blank ignored", []string{"  ", ""}, "a b", "a b"},
		{"trimmed", []string{" tok\n"}, "tok", "***"},
		{"XML-escaped, as in a JUnit file", []string{`p"w<&x`}, `<failure message="p&#34;w&lt;&amp;x"/>`, `<failure message="***"/>`},
		{"JSON-escaped", []string{`p"w\x`}, `{"v":"p\"w\\x"}`, `{"v":"***"}`},
		{"URL password, unregistered", nil, "dsn postgresql://shop:hunter22@db:5432/shop ok", "dsn postgresql://shop:***@db:5432/shop ok"},
		{"URL password without user", nil, "redis://:tok3n@cache/0", "redis://:***@cache/0"},
		{"URL without password kept", nil, "https://user@example.com/a:b@c", "https://user@example.com/a:b@c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var m mask.Masker
			for _, s := range tc.secrets {
				m.Add(s)
			}
			assert.Equal(t, tc.want, m.Mask(tc.in))
		})
	}
}
