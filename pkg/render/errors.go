package render

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoManifests is matched (errors.Is) when the inputs hold no object at all.
var ErrNoManifests = errors.New("no manifests found")

// SyntaxError is YAML that does not parse.
type SyntaxError struct {
	// File is the file (or chart template, or "<stdin>") that does not parse.
	File string
	// Line is 1-based, 0 when the parser did not say.
	Line int
	// Msg is the parser's message.
	Msg string
}

func (e *SyntaxError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	return fmt.Sprintf("%s: invalid YAML: %s", where, e.Msg)
}

// ObjectError is a document that parses but is not a Kubernetes object the
// cluster could accept: no apiVersion, an unknown kind, no name.
type ObjectError struct {
	// Source is "file:line" of the object.
	Source string
	// Msg says what is wrong and how to fix it.
	Msg string
}

func (e *ObjectError) Error() string { return e.Source + ": " + e.Msg }

// syntaxError turns yaml.v3's "yaml: line 7: did not find expected key" into a
// SyntaxError for file.
func syntaxError(file string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				line, msg = l, after
			}
		}
	}
	// yaml.v3 numbers a scanner error's line from 1, but a parser error's from
	// 0, and takes it from where the enclosing mapping or sequence starts, not
	// where the parser gave up (decode.go, (*parser).fail).
	if parserProblem(msg) {
		line++
		msg += " (in the mapping or sequence that starts at this line: the error is at or after it)"
	}
	// A tab error may carry the line before the tab's.
	if strings.Contains(msg, "tab character") && !strings.Contains(lineOf(data, line), "\t") &&
		strings.Contains(lineOf(data, line+1), "\t") {
		line++
	}
	if line > 0 && strings.Contains(lineOf(data, line), "\t") {
		msg += " (the line has a tab: YAML indents with spaces only)"
	}
	return &SyntaxError{File: file, Line: line, Msg: msg}
}

func lineOf(data []byte, n int) string {
	for i, l := range strings.Split(string(data), "\n") {
		if i+1 == n {
			return l
		}
	}
	return ""
}

// parserProblems are the messages of yaml.v3's parser, as opposed to its
// scanner (parserc.go).
var parserProblems = []string{
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected key",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found duplicate %TAG directive",
}

func parserProblem(msg string) bool {
	for _, p := range parserProblems {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
