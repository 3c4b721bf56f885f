package mask

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Interface is what a stage needs of the masker: a place to report the secret
// values it learns (a service's password, a registry token), and the masking of
// what it shows itself. Errors are returned unmasked, chain intact: the edge
// that prints them masks them.
type Interface interface {
	// Add registers a secret value.
	Add(secret string)
	// Mask returns s with every registered secret replaced by "***".
	Mask(s string) string
}

var _ Interface = (*Masker)(nil)

// Masker replaces every registered secret with "***". It is the one place
// secrets are scrubbed: the CLI, the logs, the outputs, the job summary and the
// stages all use the run's one Masker. The zero value is ready; it is safe for
// concurrent use.
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
