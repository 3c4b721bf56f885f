package dockerfile

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	gatewaypb "github.com/moby/buildkit/frontend/gateway/pb"
	"github.com/moby/buildkit/solver/errdefs"
)

// StepError is a build that failed in one of its steps: usually the
// Dockerfile or the sources need a change, seldom does a retry help.
type StepError struct {
	Stage    string   // the stage of a multi-stage build, when BuildKit names it
	Step     string   // the instruction, e.g. `RUN make`
	ExitCode int      // the exit code of a RUN, -1 when the step is not a process
	Location string   // where the step is, e.g. "Dockerfile:12", when known
	Output   []string // the last lines the step printed
	Err      error    // BuildKit's error
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "step \"%s\" failed", shorten(e.Step))
	var detail []string
	if e.ExitCode >= 0 {
		detail = append(detail, "exit code "+strconv.Itoa(e.ExitCode))
	}
	if e.Location != "" {
		detail = append(detail, "at "+e.Location)
	}
	if len(detail) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(detail, ", "))
	}
	switch {
	case len(e.Output) == 1:
		b.WriteString(": " + e.Output[0])
	case len(e.Output) > 1:
		b.WriteString(":")
		for _, l := range e.Output {
			b.WriteString("\n  " + l)
		}
	case e.Err != nil:
		b.WriteString(": " + cause(e.Err))
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// shorten makes an instruction fit on a line of a message: whitespace runs
// (line continuations) become one space and the end is cut.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > nameWidth {
		s = string(r[:nameWidth-1]) + "…"
	}
	return s
}

// stepName splits BuildKit's vertex name "[build 2/3] RUN make" into the
// stage ("build") and the instruction ("RUN make").
var stepName = regexp.MustCompile(`^\[(?:([^\]\s]+) )?\d+/\d+\] (.*)$`)

var exitCode = regexp.MustCompile(`exit code: (\d+)`)

// stepError explains a failed solve with the step that failed, or returns
// err unchanged when no step is to blame (a syntax error, a lost engine).
func stepError(err error, failed *step) error {
	if failed == nil {
		return &solveError{err: err}
	}
	se := &StepError{Step: failed.name, ExitCode: -1, Err: err, Location: location(err)}
	if m := stepName.FindStringSubmatch(failed.name); m != nil {
		se.Stage, se.Step = m[1], m[2]
	} else if ref, ok := strings.CutPrefix(failed.name, "[internal] load metadata for "); ok {
		// The frontend resolves base images before any step runs.
		se.Step = "FROM " + ref
	}
	var ee *gatewaypb.ExitError
	if errors.As(err, &ee) {
		se.ExitCode = int(ee.ExitCode)
	} else if m := exitCode.FindStringSubmatch(failed.err + " " + err.Error()); m != nil {
		se.ExitCode, _ = strconv.Atoi(m[1])
	}
	se.Output = failed.out.lines(tailLines)
	return se
}

// solveError is a failed solve that no step is to blame for, shown without
// BuildKit's layers of wrapping.
type solveError struct{ err error }

func (e *solveError) Error() string {
	if loc := location(e.err); loc != "" {
		return loc + ": " + cause(e.err)
	}
	return cause(e.err)
}

func (e *solveError) Unwrap() error { return e.err }

// location is the Dockerfile position that BuildKit attaches to an error.
func location(err error) string {
	srcs := errdefs.Sources(err)
	if len(srcs) == 0 {
		return ""
	}
	s := srcs[len(srcs)-1]
	file := "Dockerfile"
	if s.Info != nil && s.Info.Filename != "" {
		file = s.Info.Filename
	}
	if len(s.Ranges) == 0 || s.Ranges[0].Start == nil {
		return file
	}
	return fmt.Sprintf("%s:%d", file, s.Ranges[0].Start.Line)
}

// cause is BuildKit's message without the gRPC wrapping.
func cause(err error) string {
	msg := err.Error()
	for _, p := range []string{
		"rpc error: code = Unknown desc = ",
		"failed to solve: ",
		"failed to solve with frontend dockerfile.v0: ",
		"failed to create LLB definition: ",
	} {
		if i := strings.LastIndex(msg, p); i >= 0 {
			msg = msg[i+len(p):]
		}
	}
	return msg
}
