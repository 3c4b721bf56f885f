package report

import (
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/util"
)

// allowedHTML renders the raw HTML of a summary through an allowlist: the
// tags the summaries write themselves pass, any other markup is escaped and
// shown as text. goldmark's choice is all (WithUnsafe) or nothing, and
// nothing would lose the line breaks in table cells and the collapsed details.
func allowedHTML() goldmark.Option {
	return goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(htmlAllowlist{}, 100)))
}

type htmlAllowlist struct{}

func (htmlAllowlist) RegisterFuncs(r renderer.NodeRendererFuncRegisterer) {
	r.Register(ast.KindRawHTML, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkSkipChildren, nil
		}
		segs := n.(*ast.RawHTML).Segments
		for i := 0; i < segs.Len(); i++ {
			seg := segs.At(i)
			_, _ = w.WriteString(filterHTML(string(seg.Value(src))))
		}
		return ast.WalkSkipChildren, nil
	})
	r.Register(ast.KindHTMLBlock, func(w util.BufWriter, src []byte, n ast.Node, entering bool) (ast.WalkStatus, error) {
		b := n.(*ast.HTMLBlock)
		if entering {
			for i := 0; i < b.Lines().Len(); i++ {
				seg := b.Lines().At(i)
				_, _ = w.WriteString(filterHTML(string(seg.Value(src))))
			}
		} else if b.HasClosure() {
			_, _ = w.WriteString(filterHTML(string(b.ClosureLine.Value(src))))
		}
		return ast.WalkContinue, nil
	})
}

var (
	anyTag      = regexp.MustCompile(`<[^<>]*>`)
	allowedTags = map[string]string{
		"details": "<details>", "/details": "</details>", "summary": "<summary>", "/summary": "</summary>",
		"br": "<br>", "br/": "<br>", "br /": "<br>",
	}
)

// filterHTML keeps the allowed tags of s and escapes everything else that
// could be markup. Entities the summaries wrote (&lt;) are kept.
func filterHTML(s string) string {
	esc := strings.NewReplacer("<", "&lt;", ">", "&gt;")
	var b strings.Builder
	last := 0
	for _, m := range anyTag.FindAllStringIndex(s, -1) {
		b.WriteString(esc.Replace(s[last:m[0]]))
		tag := s[m[0]:m[1]]
		if ok, found := allowedTags[strings.ToLower(strings.TrimSpace(tag[1:len(tag)-1]))]; found {
			b.WriteString(ok)
		} else {
			b.WriteString(esc.Replace(tag))
		}
		last = m[1]
	}
	b.WriteString(esc.Replace(s[last:]))
	return b.String()
}
