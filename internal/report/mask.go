package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Masker replaces every registered secret with "***" in what passes through it.
// It is the one place secrets are scrubbed, so the CLI, the logs, the outputs and
// the job summary all go through it.
type Masker struct {
	mu      sync.RWMutex
	secrets []string
}

// MinSecretLength is the shortest value the CLI accepts as a secret: shorter
// values ("pw", "1") would blank the same letters all over the output, and the
// runner refuses to mask them anyway.
const MinSecretLength = 4

// urlPassword finds the password of a URL's userinfo (scheme://user:password@),
// masked wherever it appears, registered or not: a service's DSN printed by an
// application holds one more often than not.
var urlPassword = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:]*:)([^\s/@]+)@`)

// Add registers a secret. Very short values are still masked here: a one-letter
// password is a bad password, but printing it is worse (the CLI refuses them
// before they get here; see MinSecretLength).
func (m *Masker) Add(secret string) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, form := range encodedForms(secret) {
		if !slices.Contains(m.secrets, form) {
			m.secrets = append(m.secrets, form)
		}
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.SliceStable(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
}

// encodedForms returns a secret as it appears in the files the run writes: as
// itself, XML-escaped (a JUnit report) and JSON-escaped, so that a quote or an
// ampersand in a password does not let it through an encoder.
func encodedForms(secret string) []string {
	forms := []string{secret}
	var x bytes.Buffer
	_ = xml.EscapeText(&x, []byte(secret))
	if j, err := json.Marshal(secret); err == nil {
		forms = append(forms, x.String(), strings.Trim(string(j), `"`))
	}
	out := forms[:1]
	for _, f := range forms[1:] {
		if f != secret && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Mask returns s with every secret replaced.
func (m *Masker) Mask(s string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, secret := range m.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return urlPassword.ReplaceAllString(s, "${1}***@")
}

// Writer wraps w so that everything written through it is masked. Writes are
// expected to carry whole messages (the reporter writes line by line); a secret
// split across two writes would not be caught, which is why progress output is
// line-buffered before it gets here.
func (m *Masker) Writer(w io.Writer) io.Writer {
	return &maskWriter{m: m, w: w}
}

// maskWriter serialises writes: logs, workflow commands and progress lines
// from concurrent stages all end up on one stream.
type maskWriter struct {
	m  *Masker
	mu sync.Mutex
	w  io.Writer
}

func (mw *maskWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if _, err := io.WriteString(mw.w, mw.m.Mask(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
