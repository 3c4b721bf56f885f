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
