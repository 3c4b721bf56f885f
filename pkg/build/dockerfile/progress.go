package dockerfile

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"
)

const (
	// tailLines is how many lines of a failing step's output are shown, and
	// stderrLines how many of stderr's last lines are shown in any case.
	tailLines   = 20
	stderrLines = 5
	// keptLines and maxLine bound what is kept of a step's output: enough for
	// the end of a compiler or test run, little for a step that prints megabytes.
	keptLines = 64
	maxLine   = 4 << 10
	// nameWidth is where a step's name is cut in the log.
	nameWidth = 110
)

// tracker follows BuildKit's status stream: it logs one line per finished
// step and keeps the last output of every step for the error of a failed one.
type tracker struct {
	w     io.Writer
	mu    sync.Mutex
	steps map[digest.Digest]*step
	order []digest.Digest
}

type step struct {
	name      string
	started   *time.Time
	completed *time.Time
	cached    bool
	err       string
	logged    bool
	out       output
}

func newTracker(w io.Writer) *tracker {
	return &tracker{w: w, steps: map[digest.Digest]*step{}}
}

func (t *tracker) step(d digest.Digest) *step {
	s, ok := t.steps[d]
	if !ok {
		s = &step{}
		t.steps[d] = s
		t.order = append(t.order, d)
	}
	return s
}

// update takes one message of the status stream.
func (t *tracker) update(st *bkclient.SolveStatus) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, v := range st.Vertexes {
		s := t.step(v.Digest)
		s.name = v.Name
		if v.Started != nil {
			s.started = v.Started
		}
		s.cached = s.cached || v.Cached
		if v.Error != "" {
			s.err = v.Error
		}
		if v.Completed != nil {
			s.completed = v.Completed
			if !s.logged {
				s.logged = true
				fmt.Fprintln(t.w, s.line())
			}
		}
	}
	for _, l := range st.Logs {
		t.step(l.Vertex).out.write(l.Stream, l.Data)
	}
}

// line is the log line of a finished step.
func (s *step) line() string {
	n := shorten(s.name)
	var d time.Duration
	if s.started != nil && s.completed != nil {
		d = s.completed.Sub(*s.started).Round(10 * time.Millisecond)
	}
	switch {
	case s.err != "":
		return fmt.Sprintf("%s  ERROR after %s", n, d)
	case s.cached:
		return n + "  CACHED"
	default:
		return fmt.Sprintf("%s  %s", n, d)
	}
}

// failed returns the step that made the build fail: the first with an error
// that is not the cancellation of a sibling.
func (t *tracker) failed() (*step, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var fallback *step
	for _, d := range t.order {
		s := t.steps[d]
		if s.err == "" {
			continue
		}
		if !strings.Contains(s.err, "context canceled") {
			return s, true
		}
		if fallback == nil {
			fallback = s
		}
	}
	return fallback, fallback != nil
}

// output keeps the last lines a step printed on each of its streams. The
// engine reads stdout and stderr through separate pipes, so a message
// written last on stderr may arrive before the stdout lines written ahead of
// it: the last lines of stderr are therefore always shown, where the error
// usually is, whatever stdout printed around them.
type output struct {
	seq     int
	streams [2]stream // stdout (and anything else), stderr
}

type stream struct {
	lines   []line // the last keptLines complete lines
	partial []byte // the line being written
}

type line struct {
	seq  int
	text string
}

// write takes a chunk of a stream (1 stdout, 2 stderr).
func (o *output) write(fd int, p []byte) {
	s := &o.streams[0]
	if fd == 2 {
		s = &o.streams[1]
	}
	for len(p) > 0 {
		chunk, rest, nl := bytes.Cut(p, []byte("\n"))
		s.partial = append(s.partial, chunk...)
		if len(s.partial) > maxLine {
			s.partial = s.partial[len(s.partial)-maxLine:]
		}
		if nl {
			o.end(s)
		}
		p = rest
	}
}

// end completes the line being written. Carriage returns (progress bars)
// count as line starts: only a bar's final state is kept.
func (o *output) end(s *stream) {
	text := string(s.partial)
	s.partial = s.partial[:0]
	parts := strings.Split(text, "\r")
	text = ""
	for i := len(parts) - 1; i >= 0; i-- {
		if t := strings.TrimRight(parts[i], " \t"); t != "" {
			text = t
			break
		}
	}
	if text == "" {
		return
	}
	o.seq++
	s.lines = append(s.lines, line{seq: o.seq, text: text})
	if len(s.lines) > 2*keptLines {
		s.lines = append(s.lines[:0], s.lines[len(s.lines)-keptLines:]...)
	}
}

// lines returns the last n lines in arrival order, plus the last
// stderrLines of stderr when they are older.
func (o *output) lines(n int) []string {
	c := *o
	for i := range c.streams {
		s := &c.streams[i]
		s.lines = append([]line(nil), s.lines...)
		s.partial = append([]byte(nil), s.partial...)
		if len(s.partial) > 0 {
			c.end(s)
		}
	}
	all := append(append([]line(nil), c.streams[0].lines...), c.streams[1].lines...)
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	if len(all) > n {
		keep := map[int]bool{}
		for _, l := range all[len(all)-n:] {
			keep[l.seq] = true
		}
		errs := c.streams[1].lines
		for _, l := range errs[max(0, len(errs)-stderrLines):] {
			keep[l.seq] = true
		}
		var sel []line
		for _, l := range all {
			if keep[l.seq] {
				sel = append(sel, l)
			}
		}
		all = sel
	}
	var out []string
	for _, l := range all {
		out = append(out, l.text)
	}
	return out
}
