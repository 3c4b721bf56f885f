package detect

import (
	"fmt"
	"io"
	"strconv"
)

// String renders the evidence as --explain prints it:
// "framework flask (requirements.txt:3)".
func (e Evidence) String() string {
	switch {
	case e.File == "":
		return e.What
	case e.Line > 0:
		return e.What + " (" + e.File + ":" + strconv.Itoa(e.Line) + ")"
	default:
		return e.What + " (" + e.File + ")"
	}
}

// Explain writes what detection found, one fact a line with the file and
// line it came from, in a stable order: the repository's facts, then each
// service's.
func (r Repository) Explain(w io.Writer) error {
	ew := &errWriter{w: w}
	for _, e := range r.Evidence {
		ew.printf("%s\n", e)
	}
	if len(r.Workflows) == 0 {
		ew.printf("no workflows\n")
	}
	for _, s := range r.Services {
		lang := string(s.Language)
		if lang == "" {
			lang = "language unknown"
		}
		ew.printf("service %s in %s (%s)\n", s.Name, s.Dir, lang)
		for _, e := range s.Evidence {
			ew.printf("  %s\n", e)
		}
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
