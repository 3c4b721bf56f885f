package report

import (
	"bytes"
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/mattn/go-runewidth"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
)

// The summary is written once, as Markdown (what a job summary shows), and the
// terminal gets that same Markdown parsed and laid out for a fixed-width
// screen. Each stage renders its own Markdown; rendering its tables a second
// time for the terminal would double every table and let the two drift.

// TerminalOptions say how the summary is laid out on a terminal.
type TerminalOptions struct {
	// Color adds ANSI colours and bold; only for a TTY, and never with NO_COLOR.
	Color bool
	// Verbose lists the rows Folds would count.
	Verbose bool
	// Folds count rather than list a table's routine rows (objects a release
	// left unchanged).
	Folds []Fold
	// Width is the terminal's width in columns; a table wider than that has
	// its last column wrapped at spaces. 0: no limit (a pipe, a file).
	Width int
}

// Fold counts, instead of listing, the rows of a table whose Column holds
// Value; Noun names them in the count ("3 objects unchanged").
type Fold struct {
	Column, Value, Noun string
}

func markdownParser() goldmark.Markdown {
	return goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))
}

// Terminal lays markdown out for a terminal: headings on lines of their own,
// tables aligned in columns, inline markup dropped, code indented.
func Terminal(markdown string, o TerminalOptions) string {
	src := []byte(markdown)
	doc := markdownParser().Parser().Parse(text.NewReader(src))
	t := &layout{src: src, o: o}
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		t.block(n, "")
	}
	return strings.TrimRight(t.b.String(), "\n") + "\n"
}

type layout struct {
	src []byte
	o   TerminalOptions
	b   strings.Builder
}

const (
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiReset  = "\x1b[0m"
)

func (t *layout) style(code, s string) string {
	if !t.o.Color || s == "" {
		return s
	}
	return code + s + ansiReset
}

// gap separates blocks with one blank line.
func (t *layout) gap() {
	s := t.b.String()
	if s != "" && !strings.HasSuffix(s, "\n\n") {
		t.b.WriteString("\n")
	}
}

func (t *layout) line(indent, s string) {
	for _, l := range strings.Split(s, "\n") {
		t.b.WriteString(strings.TrimRight(indent+l, " ") + "\n")
	}
}

func (t *layout) block(n ast.Node, indent string) {
	switch n := n.(type) {
	case *ast.Heading:
		t.gap()
		s := t.inline(n)
		if n.Level <= 3 {
			s = t.style(ansiBold+ansiCyan, s)
		} else {
			s = t.style(ansiBold, s)
		}
		t.line(indent, s)
		t.b.WriteString("\n")
	case *ast.Paragraph, *ast.TextBlock:
		if n.Kind() == ast.KindParagraph {
			t.gap()
		}
		t.line(indent, t.inline(n))
	case *ast.List:
		t.gap()
		i := n.Start
		for item := n.FirstChild(); item != nil; item = item.NextSibling() {
			bullet := "• "
			if n.IsOrdered() {
				bullet = fmt.Sprintf("%d. ", i)
				i++
			}
			var sub layout
			sub.src, sub.o = t.src, t.o
			for c := item.FirstChild(); c != nil; c = c.NextSibling() {
				sub.block(c, "")
			}
			lines := strings.Split(strings.Trim(sub.b.String(), "\n"), "\n")
			for j, l := range lines {
				prefix := strings.Repeat(" ", width(bullet))
				if j == 0 {
					prefix = bullet
				}
				t.line(indent+"  ", prefix+l)
			}
		}
	case *ast.FencedCodeBlock, *ast.CodeBlock:
		t.gap()
		var code strings.Builder
		for i := 0; i < n.Lines().Len(); i++ {
			seg := n.Lines().At(i)
			code.Write(seg.Value(t.src))
		}
		t.line(indent+"    ", t.style(ansiDim, strings.TrimRight(code.String(), "\n")))
	case *ast.Blockquote:
		t.gap()
		var sub layout
		sub.src, sub.o = t.src, t.o
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			sub.block(c, "")
		}
		t.line(indent+"│ ", strings.Trim(sub.b.String(), "\n"))
	case *ast.ThematicBreak:
		t.gap()
		t.line(indent, strings.Repeat("─", 40))
	case *ast.HTMLBlock:
		// <details><summary>title</summary> and </details>: the title stays, the
		// tags go; the content between them is Markdown of its own.
		var raw strings.Builder
		for i := 0; i < n.Lines().Len(); i++ {
			seg := n.Lines().At(i)
			raw.Write(seg.Value(t.src))
		}
		if s := strings.TrimSpace(htmlText(raw.String())); s != "" {
			t.gap()
			t.line(indent, t.style(ansiBold, s))
		}
	case *east.Table:
		t.gap()
		t.table(n, indent)
	default:
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			t.block(c, indent)
		}
	}
}

var (
	htmlTag   = regexp.MustCompile(`(?i)</?(details|summary)\s*>`)
	htmlBreak = regexp.MustCompile(`(?i)<br\s*/?>`)
)

// htmlText is the text of a snippet of HTML the summaries themselves write:
// their tags (details, summary, br) go, anything else that looks like a tag
// (<namespace> in a message) is text and stays.
func htmlText(s string) string {
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&amp;", "&")
	return r.Replace(s)
}

// unescape drops the backslash of Markdown's escaped punctuation (\| \* \_),
// as a Markdown renderer does.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// inline renders the inline content of n as plain text: code spans and
// emphasis lose their markers (emphasis becomes bold on a colour terminal),
// links keep their target.
func (t *layout) inline(n ast.Node) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			if c.IsRaw() {
				b.Write(c.Value(t.src))
			} else {
				b.WriteString(html.UnescapeString(unescape(string(c.Value(t.src)))))
			}
			if c.HardLineBreak() || c.SoftLineBreak() {
				b.WriteString("\n")
			}
		case *ast.String:
			b.Write(c.Value)
		case *ast.CodeSpan:
			// A backslash is literal in a code span, but a table cell's \| is
			// the table's escape (GFM), and Table writes one.
			var code strings.Builder
			for cc := c.FirstChild(); cc != nil; cc = cc.NextSibling() {
				if tx, ok := cc.(*ast.Text); ok {
					code.Write(tx.Value(t.src))
				}
			}
			b.WriteString(strings.ReplaceAll(code.String(), `\|`, "|"))
		case *ast.Emphasis:
			s := t.inline(c)
			if c.Level >= 2 {
				s = t.style(ansiBold, s)
			}
			b.WriteString(s)
		case *ast.Link:
			s := t.inline(c)
			if dest := string(c.Destination); dest != "" && dest != s {
				s += " (" + dest + ")"
			}
			b.WriteString(s)
		case *ast.AutoLink:
			b.Write(c.URL(t.src))
		case *ast.RawHTML:
			var raw strings.Builder
			for i := 0; i < c.Segments.Len(); i++ {
				seg := c.Segments.At(i)
				raw.Write(seg.Value(t.src))
			}
			b.WriteString(htmlText(raw.String()))
		default:
			b.WriteString(t.inline(c))
		}
	}
	return b.String()
}

// table lays a table out in aligned columns. Cells may hold several lines
// (<br> in the Markdown). Rows a Fold matches are counted below the table
// unless the options are verbose.
func (t *layout) table(n *east.Table, indent string) {
	var header []string
	var rows [][]string
	for r := n.FirstChild(); r != nil; r = r.NextSibling() {
		var cells []string
		for c := r.FirstChild(); c != nil; c = c.NextSibling() {
			cells = append(cells, strings.TrimSpace(t.plain(c)))
		}
		if r.Kind() == east.KindTableHeader {
			header = cells
			continue
		}
		rows = append(rows, cells)
	}
	var folded []string
	if !t.o.Verbose {
		for _, f := range t.o.Folds {
			col := -1
			for i, h := range header {
				if h == f.Column {
					col = i
				}
			}
			if col < 0 {
				continue
			}
			kept := rows[:0:0]
			count := 0
			for _, r := range rows {
				if col < len(r) && r[col] == f.Value {
					count++
					continue
				}
				kept = append(kept, r)
			}
			rows = kept
			if count > 0 {
				noun := f.Noun
				if noun == "" {
					noun = "rows"
				}
				folded = append(folded, fmt.Sprintf("%d %s %s (-v lists them)", count, noun, f.Value))
			}
		}
	}
	if len(rows) > 0 {
		widths := make([]int, len(header))
		measure := func(cells []string) {
			for i, c := range cells {
				if i >= len(widths) {
					break
				}
				for _, l := range strings.Split(c, "\n") {
					widths[i] = max(widths[i], width(l))
				}
			}
		}
		measure(header)
		for _, r := range rows {
			measure(r)
		}
		if last := len(widths) - 1; t.o.Width > 0 && last > 0 {
			used := 2 * last
			for _, w := range widths[:last] {
				used += w
			}
			if room := max(t.o.Width-used, 20); widths[last] > room {
				widths[last] = 0
				for _, r := range rows {
					if last < len(r) {
						r[last] = wrap(r[last], room)
						for _, l := range strings.Split(r[last], "\n") {
							widths[last] = max(widths[last], width(l))
						}
					}
				}
				widths[last] = max(widths[last], width(header[last]))
			}
		}
		t.row(indent, header, widths, true)
		seps := make([]string, len(widths))
		for i, w := range widths {
			seps[i] = strings.Repeat("─", w)
		}
		t.line(indent, t.style(ansiDim, strings.Join(seps, "  ")))
		for _, r := range rows {
			t.row(indent, r, widths, false)
		}
	}
	for _, f := range folded {
		t.line(indent, t.style(ansiDim, f))
	}
}

func (t *layout) row(indent string, cells []string, widths []int, header bool) {
	height := 1
	split := make([][]string, len(widths))
	for i := range widths {
		if i < len(cells) {
			split[i] = strings.Split(cells[i], "\n")
		}
		height = max(height, len(split[i]))
	}
	for l := 0; l < height; l++ {
		var parts []string
		for i, w := range widths {
			s := ""
			if l < len(split[i]) {
				s = split[i][l]
			}
			pad := strings.Repeat(" ", max(0, w-width(s)))
			if header {
				s = t.style(ansiBold, s)
			} else {
				s = t.status(s)
			}
			parts = append(parts, s+pad)
		}
		t.line(indent, strings.Join(parts, "  "))
	}
}

// status colours a cell that states a result.
func (t *layout) status(s string) string {
	if !t.o.Color {
		return s
	}
	word := strings.ToLower(strings.TrimLeft(s, "✅❌⚠⏭⏸ \ufe0f"))
	switch {
	case strings.HasPrefix(word, "fail"), strings.HasPrefix(word, "error"), strings.HasPrefix(s, "❌"):
		return t.style(ansiRed, s)
	case strings.HasPrefix(word, "warn"), strings.HasPrefix(s, "⚠"), strings.HasPrefix(s, "⏸"):
		return t.style(ansiYellow, s)
	case word == "ok", strings.HasPrefix(word, "pass"), word == "pushed", word == "ready", strings.HasPrefix(s, "✅"):
		return t.style(ansiGreen, s)
	}
	return s
}

// plain is a table cell's text without colour: widths are measured on it.
func (t *layout) plain(n ast.Node) string {
	sub := layout{src: t.src, o: TerminalOptions{}}
	return sub.inline(n)
}

// wrap breaks the lines of s at spaces so that each fits in n columns where
// it can; a word longer than n stays whole.
func wrap(s string, n int) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		var cur string
		for _, w := range strings.Fields(line) {
			switch {
			case cur == "":
				cur = w
			case width(cur)+1+width(w) <= n:
				cur += " " + w
			default:
				out = append(out, cur)
				cur = w
			}
		}
		out = append(out, cur)
	}
	return strings.Join(out, "\n")
}

// width is how many columns s takes on a terminal. An emoji followed by the
// variation selector U+FE0F ("⚠️") is drawn two columns wide, which
// runewidth counts as one.
func width(s string) int {
	w := runewidth.StringWidth(s)
	prev := rune(0)
	for _, r := range s {
		if r == '\ufe0f' && prev != 0 && runewidth.RuneWidth(prev) == 1 {
			w++
		}
		prev = r
	}
	return w
}

// HTML renders markdown as a standalone HTML page titled title. Raw HTML in
// the Markdown is limited to the few tags the summaries write (details,
// summary, br); anything else is shown as text, so a value that looks like
// markup (an error message, a log line) cannot inject any.
func HTML(title, markdown string) (string, error) {
	md := goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough),
		allowedHTML(),
	)
	var body bytes.Buffer
	if err := md.Convert([]byte(markdown), &body); err != nil {
		return "", fmt.Errorf("rendering the summary as HTML: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>%s</title>
<style>
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; line-height: 1.5; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d1d9e0; padding: .3rem .7rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 85%%; background: #f6f8fa; border-radius: 4px; }
code { padding: .1rem .3rem; }
pre { padding: .8rem; overflow: auto; }
pre code { padding: 0; background: none; }
details { margin: .5rem 0; }
</style>
</head>
<body>
`, htmlEscaper.Replace(title))
	b.Write(body.Bytes())
	b.WriteString("</body>\n</html>\n")
	return b.String(), nil
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
