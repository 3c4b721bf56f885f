package audit

import (
	"bytes"
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
)

// file is one workflow under audit: its source, actionlint's tree of it, and the findings so far.
type file struct {
	path       string
	src        []byte
	lineStarts []int
	wf         *actionlint.Workflow
	opts       *options
	jobs       []*actionlint.Job
	facts      map[*actionlint.Job]*jobFacts
	findings   []Finding
}

func newFile(path string, src []byte, wf *actionlint.Workflow, o *options) *file {
	f := &file{path: path, src: src, wf: wf, opts: o, lineStarts: []int{0}, facts: map[*actionlint.Job]*jobFacts{}}
	for i, b := range src {
		if b == '\n' {
			f.lineStarts = append(f.lineStarts, i+1)
		}
	}
	for _, j := range wf.Jobs {
		if j != nil && j.ID != nil && j.ID.Pos != nil {
			f.jobs = append(f.jobs, j)
		}
	}
	slices.SortFunc(f.jobs, func(a, b *actionlint.Job) int { return comparePos(a.ID.Pos, b.ID.Pos) })
	return f
}

func comparePos(a, b *actionlint.Pos) int {
	return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
}

// add records a finding at pos (the top of the file when pos is unknown).
func (f *file) add(pos *actionlint.Pos, rule string, sev Severity, fix, format string, args ...any) {
	line, col := 1, 1
	if pos != nil {
		line, col = max(pos.Line, 1), max(pos.Col, 1)
	}
	f.addAt(line, col, rule, sev, fix, format, args...)
}

func (f *file) addAt(line, col int, rule string, sev Severity, fix, format string, args ...any) {
	f.findings = append(f.findings, Finding{File: f.path, Line: line, Column: col, Rule: rule, Severity: sev,
		Message: fmt.Sprintf(format, args...), Fix: fix})
}

// offset is the byte offset of a 1-based line and column, clamped to the source.
func (f *file) offset(line, col int) int {
	if line < 1 {
		return 0
	}
	if line > len(f.lineStarts) {
		return len(f.src)
	}
	return min(f.lineStarts[line-1]+max(col-1, 0), len(f.src))
}

// lineCol is the 1-based line and column of a byte offset.
func (f *file) lineCol(off int) (int, int) {
	i, found := slices.BinarySearch(f.lineStarts, off)
	if !found {
		i--
	}
	return i + 1, off - f.lineStarts[i] + 1
}

// locate maps a byte offset inside a YAML string value to its line and column in the file.
// actionlint gives each value the position where it starts; a block scalar (run: |) starts on the
// line of its indicator, and its lines follow, indented. YAML has no other way back from a value
// to its source, so the value's line is found in the source after the value's start: for literal
// and plain scalars, the usual case for scripts, the line is there verbatim. When it is not
// (escapes in a quoted string, folding), the value's start is the answer.
func (f *file) locate(s *actionlint.String, off int) (int, int) {
	if s == nil || s.Pos == nil {
		return 1, 1
	}
	v := s.Value
	off = min(max(off, 0), len(v))
	ls := strings.LastIndexByte(v[:off], '\n') + 1
	le := strings.IndexByte(v[off:], '\n')
	if le < 0 {
		le = len(v)
	} else {
		le += off
	}
	text := v[ls:le]
	trimmed := strings.TrimLeft(text, " \t")
	lead := len(text) - len(trimmed)
	if trimmed == "" || off-ls < lead {
		return s.Pos.Line, s.Pos.Col
	}
	// The same text may occur on earlier lines of the value; skip as many occurrences in the source.
	nth := strings.Count(v[:ls], trimmed)
	start := f.offset(s.Pos.Line, s.Pos.Col)
	rest := f.src[start:]
	at := -1
	for i := 0; i <= nth; i++ {
		j := bytes.Index(rest, []byte(trimmed))
		if j < 0 {
			return s.Pos.Line, s.Pos.Col
		}
		at = len(f.src) - len(rest) + j
		rest = rest[j+len(trimmed):]
	}
	return f.lineCol(at + off - ls - lead)
}

// posIn is locate as a position.
func (f *file) posIn(s *actionlint.String, off int) *actionlint.Pos {
	l, c := f.locate(s, off)
	return &actionlint.Pos{Line: l, Col: c}
}

// comment is the text of the comment that ends the line a single-line value is on ("" when none),
// and its position. actionlint's tree drops comments; version comments after pins live there.
func (f *file) comment(s *actionlint.String) (string, *actionlint.Pos) {
	if s == nil || s.Pos == nil || s.Pos.Line > len(f.lineStarts) {
		return "", nil
	}
	start := f.offset(s.Pos.Line, s.Pos.Col)
	end := len(f.src)
	if s.Pos.Line < len(f.lineStarts) {
		end = f.lineStarts[s.Pos.Line] - 1
	}
	line := string(f.src[start:end])
	// Skip the value itself (and its quotes) before looking for '#'.
	if i := strings.Index(line, s.Value); i >= 0 {
		line = line[i+len(s.Value):]
		start += i + len(s.Value)
	}
	i := strings.IndexByte(line, '#')
	if i < 0 {
		return "", nil
	}
	l, c := f.lineCol(start + i)
	return strings.TrimSpace(line[i+1:]), &actionlint.Pos{Line: l, Col: c}
}

var stringType = reflect.TypeFor[*actionlint.String]()

// stringsIn collects every string value (with its position) under an actionlint tree node, in
// source order. The tree has dozens of node types holding strings; walking it by reflection keeps
// rules that look at "every expression of a job" from missing a field a new actionlint adds.
func stringsIn(node any) []*actionlint.String {
	var out []*actionlint.String
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				return
			}
			if v.Type() == stringType {
				if s := v.Interface().(*actionlint.String); s.Pos != nil {
					out = append(out, s)
				}
				return
			}
			walk(v.Elem())
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			it := v.MapRange()
			for it.Next() {
				walk(it.Value())
			}
		}
	}
	walk(reflect.ValueOf(node))
	slices.SortStableFunc(out, func(a, b *actionlint.String) int { return comparePos(a.Pos, b.Pos) })
	return slices.CompactFunc(out, func(a, b *actionlint.String) bool { return a == b })
}
