package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/sethvargo/go-githubactions"
	"golang.org/x/term"

	"github.com/deploy-action/deploy-action/pkg/mask"
)

// Reporter writes what a run does for the place it runs in: workflow commands,
// outputs and a job summary inside GitHub Actions; plain lines and key=value
// outputs on a terminal. Every byte goes through the Masker.
type Reporter struct {
	mask    *mask.Masker
	out     io.Writer // masked
	gha     *githubactions.Action
	actions bool
	getenv  func(string) string

	mu      sync.Mutex
	masked  map[string]bool // sent to the runner already
	outputs map[string]string
	order   []string
	term    TerminalOptions
	summary strings.Builder // masked Markdown, for WriteSummary
}

type options struct {
	out    io.Writer
	getenv func(string) string
}

// Option configures a Reporter.
type Option func(*options)

// WithWriter sets where logs go (default os.Stdout).
func WithWriter(w io.Writer) Option { return func(o *options) { o.out = w } }

// WithGetenv sets how the environment is read (default os.Getenv).
func WithGetenv(getenv func(string) string) Option { return func(o *options) { o.getenv = getenv } }

// New returns a Reporter. It speaks GitHub Actions' workflow commands when
// GITHUB_ACTIONS is "true".
func New(opts ...Option) *Reporter {
	o := options{out: os.Stdout, getenv: os.Getenv}
	for _, opt := range opts {
		opt(&o)
	}
	m := &mask.Masker{}
	out := &maskWriter{m: m, w: o.out}
	return &Reporter{
		mask:    m,
		out:     out,
		gha:     githubactions.New(githubactions.WithWriter(out), githubactions.WithGetenv(o.getenv)),
		actions: o.getenv("GITHUB_ACTIONS") == "true",
		getenv:  o.getenv,
		outputs: map[string]string{},
	}
}

// InActions reports whether the run is a GitHub Actions step.
func (r *Reporter) InActions() bool { return r.actions }

// Action exposes the workflow-command client (inputs, context) for wiring.
func (r *Reporter) Action() *githubactions.Action { return r.gha }

// Secret registers a value that must never be shown. In Actions it is also
// registered with the runner, which masks it in the whole job's log.
func (r *Reporter) Secret(v string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return
	}
	r.mask.Add(v)
	if !r.actions {
		return
	}
	r.mu.Lock()
	sent := r.masked[v]
	if r.masked == nil {
		r.masked = map[string]bool{}
	}
	r.masked[v] = true
	r.mu.Unlock()
	if !sent {
		// AddMask writes "::add-mask::<v>" through the masked writer, which
		// would blank the value the runner needs; issue it on the raw stream.
		r.rawCommand("add-mask", v)
	}
}

// SecretDocument registers a structured multi-line secret (a kubeconfig) with
// this process's masker only. Its lines are mostly structure ("users:"), and
// a runner that masks line by line would blank common words all over the job's
// log; the caller registers its credentials one by one with Secret instead.
func (r *Reporter) SecretDocument(v string) {
	r.mask.Add(v)
}

func (r *Reporter) Mask(s string) string { return r.mask.Mask(s) }

// Masker is the run's one masker, for the stages to report the secrets they
// learn to. A value added there is masked in this process's output; one the
// runner must also mask in the job's log goes through Secret.
func (r *Reporter) Masker() mask.Interface { return r.mask }

// Writer returns a line-buffered, masked writer for progress output: whole
// lines go out as they complete, so a secret split across two writes is still
// masked. Call the returned func to flush a last partial line.
func (r *Reporter) Writer() (io.Writer, func()) {
	lw := &lineWriter{out: r.out}
	return lw, lw.flush
}

type lineWriter struct {
	mu  sync.Mutex
	out io.Writer
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	if i := bytes.LastIndexByte(l.buf, '\n'); i >= 0 {
		if _, err := l.out.Write(l.buf[:i+1]); err != nil {
			return 0, err
		}
		l.buf = append(l.buf[:0], l.buf[i+1:]...)
	}
	return len(p), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		_, _ = l.out.Write(append(l.buf, '\n'))
		l.buf = l.buf[:0]
	}
}

// Group starts a collapsible section; call the returned func to end it.
func (r *Reporter) Group(title string) func() {
	if r.actions {
		r.gha.Group(title)
		return r.gha.EndGroup
	}
	fmt.Fprintf(r.out, "==> %s\n", title)
	return func() {}
}

// Infof logs one line.
func (r *Reporter) Infof(format string, args ...any) {
	fmt.Fprintf(r.out, strings.TrimSuffix(format, "\n")+"\n", args...)
}

// Warnf logs a warning (a workflow annotation in Actions).
func (r *Reporter) Warnf(format string, args ...any) {
	if r.actions {
		r.gha.Warningf(format, args...)
		return
	}
	fmt.Fprintf(r.out, "warning: "+strings.TrimSuffix(format, "\n")+"\n", args...)
}

// Errorf reports an error (a workflow annotation in Actions).
func (r *Reporter) Errorf(format string, args ...any) {
	if r.actions {
		r.gha.Errorf(format, args...)
		return
	}
	fmt.Fprintf(r.out, "error: "+strings.TrimSuffix(format, "\n")+"\n", args...)
}

// Output records a machine-readable result. In Actions it becomes a step output
// at once; elsewhere Flush prints the outputs as key=value lines.
func (r *Reporter) Output(key, value string) {
	value = r.mask.Mask(value)
	if r.actions {
		r.gha.SetOutput(key, value)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.outputs[key]; !ok {
		r.order = append(r.order, key)
	}
	r.outputs[key] = value
}

// Outputs returns the outputs recorded so far, sorted by key.
func (r *Reporter) Outputs() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]string, len(r.outputs))
	for k, v := range r.outputs {
		m[k] = v
	}
	return m
}

// SetTerminal sets how summaries are laid out on a terminal (colour,
// verbosity, folded rows). Actions gets the Markdown whatever it says.
func (r *Reporter) SetTerminal(o TerminalOptions) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.term = o
}

// Summary adds markdown to the job summary; on a terminal it is printed laid
// out for the terminal (see Terminal). Either way it is kept for WriteSummary.
func (r *Reporter) Summary(markdown string) {
	masked := r.mask.Mask(markdown)
	markdown = strings.TrimRight(masked, "\n") + "\n"
	r.mu.Lock()
	if r.summary.Len() > 0 {
		r.summary.WriteString("\n")
	}
	r.summary.WriteString(markdown)
	o := r.term
	r.mu.Unlock()
	if r.actions {
		r.gha.AddStepSummary(masked)
		return
	}
	fmt.Fprint(r.out, Terminal(markdown, o))
}

// SummaryMarkdown returns every summary added so far, masked, as Markdown.
func (r *Reporter) SummaryMarkdown() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.summary.String()
}

// WriteSummary writes the summary so far to path: as an HTML page when path
// ends in .html or .htm, as Markdown otherwise.
func (r *Reporter) WriteSummary(path string) error {
	md := r.SummaryMarkdown()
	data := md
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm":
		var err error
		if data, err = HTML("deploy-action summary", md); err != nil {
			return err
		}
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("writing the summary to %s: %w", path, err)
		}
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		return fmt.Errorf("writing the summary to %s: %w", path, err)
	}
	return nil
}

// TerminalWidth is the width in columns of w when it is a terminal, else 0.
func TerminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return cols
}

// ColorFor reports whether output to w may be coloured: w is a terminal,
// NO_COLOR (https://no-color.org) is unset or empty, and TERM is not "dumb".
func ColorFor(w io.Writer, getenv func(string) string) bool {
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Flush prints the recorded outputs on a terminal (Actions already has them).
func (r *Reporter) Flush() {
	if r.actions {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := append([]string(nil), r.order...)
	sort.Strings(keys)
	for _, k := range keys {
		v := r.outputs[k]
		if strings.Contains(v, "\n") {
			fmt.Fprintf(r.out, "%s<<EOF\n%s\nEOF\n", k, v)
			continue
		}
		fmt.Fprintf(r.out, "%s=%s\n", k, v)
	}
}

func (r *Reporter) rawCommand(name, msg string) {
	// The underlying stream is the masker's; reach past it deliberately.
	mw := r.out.(*maskWriter)
	mw.mu.Lock()
	defer mw.mu.Unlock()
	fmt.Fprintf(mw.w, "::%s::%s\n", name, escapeData(msg))
}

// escapeData is the runner's escaping of a workflow command's data: the runner
// unescapes %25, %0D and %0A, so a secret holding "%" registers as itself and
// one holding a line break stays one command instead of printing its second
// line in clear (actions/toolkit, packages/core/src/command.ts, escapeData).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}
