package imagetest

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/deploy-action/deploy-action/pkg/markdown"
)

// Status is the outcome of one case.
type Status string

// Outcomes of a case. Only Fail and Error fail the test.
const (
	Pass  Status = "pass"
	Warn  Status = "warn"
	Fail  Status = "fail"
	Skip  Status = "skip"
	Error Status = "error" // the check could not run (bad input, no engine)
)

// Suites of cases.
const (
	SuitePolicy    = "policy"
	SuiteStructure = "structure"
	SuiteSmoke     = "smoke"
)

// Case is one check, test or step, with a message for people.
type Case struct {
	Suite   string
	Name    string
	Status  Status
	Message string
	// Details lists the items behind the message, one a line.
	Details []string
	// Output is what a container printed (logs, a command's output), secrets
	// masked; kept for failures.
	Output   string
	Duration time.Duration
}

// Report is the verdict on one image.
type Report struct {
	// Image names the image tested (its digest, or its name in the engine).
	Image    string
	Cases    []Case
	Duration time.Duration
}

// Failed reports whether a case failed or could not run.
func (r *Report) Failed() bool {
	for _, c := range r.Cases {
		if c.Status == Fail || c.Status == Error {
			return true
		}
	}
	return false
}

// Count returns how many cases have each status.
func (r *Report) Count() map[Status]int {
	n := map[Status]int{}
	for _, c := range r.Cases {
		n[c.Status]++
	}
	return n
}

// Verdict is a one-line summary: "passed: 12 checks, 1 warning".
func (r *Report) Verdict() string {
	n := r.Count()
	var parts []string
	parts = append(parts, plural(len(r.Cases), "check"))
	if n[Fail] > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", n[Fail]))
	}
	if n[Error] > 0 {
		parts = append(parts, fmt.Sprintf("%d could not run", n[Error]))
	}
	if n[Warn] > 0 {
		parts = append(parts, plural(n[Warn], "warning"))
	}
	if n[Skip] > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", n[Skip]))
	}
	v := "passed"
	if r.Failed() {
		v = "failed"
	}
	return v + ": " + strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

var icons = map[Status]string{Pass: "✅", Warn: "⚠️", Fail: "❌", Error: "❌", Skip: "⏭️"}

// Markdown renders the report for a job summary: a table of every case, then
// the details and container output of each case that did not pass.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Image test %s\n\n", r.Verdict())
	if r.Image != "" {
		fmt.Fprintf(&b, "Image `%s`, tested in %s.\n\n", r.Image, r.Duration.Round(100*time.Millisecond))
	}
	rows := make([][]string, 0, len(r.Cases))
	for _, c := range r.Cases {
		rows = append(rows, []string{icons[c.Status] + " " + string(c.Status), c.Suite, escapeText(c.Name), escapeText(c.Message)})
	}
	b.WriteString(markdown.Table([]string{"result", "suite", "check", "message"}, rows))
	for _, c := range r.Cases {
		if (c.Status == Pass || c.Status == Skip) || (len(c.Details) == 0 && c.Output == "") {
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary>%s: %s (%s)</summary>\n\n", htmlEscape(c.Suite), htmlEscape(c.Name), c.Status)
		for _, d := range c.Details {
			fmt.Fprintf(&b, "- %s\n", escapeText(d))
		}
		if c.Output != "" {
			if len(c.Details) > 0 {
				b.WriteString("\n")
			}
			fence := "```"
			for strings.Contains(c.Output, fence) {
				fence += "`"
			}
			fmt.Fprintf(&b, "%stext\n%s\n%s\n", fence, strings.TrimRight(c.Output, "\n"), fence)
		}
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

// escapeText escapes what GitHub would take for HTML (<port>, say), except
// inside code spans, which show their text as it is.
func escapeText(s string) string {
	parts := strings.Split(s, "`")
	for i := 0; i < len(parts); i += 2 {
		if i == len(parts)-1 && len(parts)%2 == 0 {
			break // an unclosed backtick: the rest is text, kept as written
		}
		parts[i] = htmlEscape(parts[i])
	}
	return strings.Join(parts, "`")
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// Text renders the report for a terminal: one line per case, then the
// details and output of each case that did not pass.
func (r *Report) Text() string {
	var b strings.Builder
	width := 0
	for _, c := range r.Cases {
		width = max(width, len(c.Suite)+len(c.Name)+1)
	}
	for _, c := range r.Cases {
		fmt.Fprintf(&b, "%-5s %-*s  %s\n", strings.ToUpper(string(c.Status)), width, c.Suite+"/"+c.Name, c.Message)
	}
	for _, c := range r.Cases {
		if c.Status == Pass || c.Status == Skip || (len(c.Details) == 0 && c.Output == "") {
			continue
		}
		fmt.Fprintf(&b, "\n--- %s/%s (%s)\n", c.Suite, c.Name, c.Status)
		for _, d := range c.Details {
			fmt.Fprintf(&b, "  %s\n", d)
		}
		if c.Output != "" {
			for _, line := range strings.Split(strings.TrimRight(c.Output, "\n"), "\n") {
				fmt.Fprintf(&b, "  | %s\n", line)
			}
		}
	}
	fmt.Fprintf(&b, "\nimage test %s\n", r.Verdict())
	return b.String()
}

// JUnit XML, the dialect CI test reporters read (Jenkins, GitLab, the
// GitHub test-report actions): one testsuite per suite.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// JUnit writes the report as JUnit XML.
func (r *Report) JUnit(w io.Writer) error {
	out := junitSuites{Name: "deploy-action image test", Time: seconds(r.Duration)}
	index := map[string]int{}
	for _, c := range r.Cases {
		i, ok := index[c.Suite]
		if !ok {
			i = len(out.Suites)
			index[c.Suite] = i
			out.Suites = append(out.Suites, junitSuite{Name: c.Suite})
		}
		s := &out.Suites[i]
		jc := junitCase{Name: c.Name, Classname: c.Suite, Time: seconds(c.Duration)}
		body := strings.Join(c.Details, "\n")
		switch c.Status {
		case Fail:
			jc.Failure = &junitMessage{Message: c.Message, Type: "fail", Text: body}
			s.Failures++
		case Error:
			jc.Error = &junitMessage{Message: c.Message, Type: "error", Text: body}
			s.Errors++
		case Skip:
			jc.Skipped = &junitMessage{Message: c.Message}
			s.Skipped++
		case Warn:
			jc.SystemOut = "warning: " + c.Message
			if body != "" {
				jc.SystemOut += "\n" + body
			}
		}
		if c.Output != "" {
			if jc.SystemOut != "" {
				jc.SystemOut += "\n"
			}
			jc.SystemOut += c.Output
		}
		s.Tests++
		s.Cases = append(s.Cases, jc)
	}
	for i := range out.Suites {
		s := &out.Suites[i]
		var d time.Duration
		for _, c := range r.Cases {
			if c.Suite == s.Name {
				d += c.Duration
			}
		}
		s.Time = seconds(d)
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Errors += s.Errors
		out.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
