package detect

import (
	"bufio"
	"bytes"
	"regexp"
	"strings"
)

// Requirement is one Python distribution a project depends on.
type Requirement struct {
	// Name is normalised as PEP 503 says: lower case, runs of -_. as one -.
	Name   string
	Extras []string // e.g. ["binary"] for psycopg[binary]
	// Spec is the version specifier as written ("==3.1.0", ">=2.9"), empty
	// when there is none.
	Spec string
	Line int // 1-based
}

// ParseRequirements reads a pip requirements file. No Go library parses
// pip's format (it is pip's own, not a standard), so this small parser does:
// comments (" #" or a line starting "#"), line continuations ("\"), options
// and includes ("-r", "-c", "--index-url", ...) are skipped, as are editable
// installs, local paths and URLs without a name; environment markers after
// ";" and hashes ("--hash=") are dropped. A line it cannot read is skipped:
// pip is the judge of a requirements file, detection only looks for names.
func ParseRequirements(b []byte) []Requirement {
	var out []Requirement
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), maxRead)
	line, start := 0, 0
	var logical strings.Builder
	for sc.Scan() {
		line++
		text := sc.Text()
		if logical.Len() == 0 {
			start = line
		}
		// A comment starts at "#" at the beginning or after whitespace.
		if i := commentStart(text); i >= 0 {
			text = text[:i]
		}
		if strings.HasSuffix(text, `\`) {
			logical.WriteString(strings.TrimSuffix(text, `\`))
			logical.WriteByte(' ')
			continue
		}
		logical.WriteString(text)
		if r, ok := parseRequirement(logical.String()); ok {
			r.Line = start
			out = append(out, r)
		}
		logical.Reset()
	}
	if logical.Len() > 0 {
		if r, ok := parseRequirement(logical.String()); ok {
			r.Line = start
			out = append(out, r)
		}
	}
	return out
}

func commentStart(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// pep508 matches the start of a PEP 508 requirement: a name, optional
// extras, then the rest (version specifiers, a URL after "@", markers).
var pep508 = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*(.*)$`)

// parseRequirement reads one PEP 508 requirement, as found in requirements
// files and in pyproject.toml's dependency arrays.
func parseRequirement(s string) (Requirement, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '-' || s[0] == '.' || s[0] == '/' || strings.Contains(s, "://") && !strings.Contains(s, "@") {
		return Requirement{}, false
	}
	m := pep508.FindStringSubmatch(s)
	if m == nil {
		return Requirement{}, false
	}
	r := Requirement{Name: NormalizeName(m[1])}
	for _, e := range strings.Split(m[2], ",") {
		if e = strings.TrimSpace(e); e != "" {
			r.Extras = append(r.Extras, NormalizeName(e))
		}
	}
	rest := m[3]
	if i := strings.Index(rest, ";"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.Index(rest, "--"); i >= 0 {
		rest = rest[:i]
	}
	rest = strings.TrimSpace(rest)
	if rest != "" && !strings.ContainsAny(rest[:1], "<>=!~@(") {
		return Requirement{}, false // not a requirement (e.g. "git+ssh..." or free text)
	}
	r.Spec = strings.Join(strings.Fields(strings.Trim(rest, "()")), "")
	return r, true
}

// NormalizeName normalises a Python distribution name as PEP 503 does.
func NormalizeName(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c == '-' || c == '_' || c == '.' {
			if !dash {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		dash = false
		b.WriteRune(c)
	}
	return b.String()
}
