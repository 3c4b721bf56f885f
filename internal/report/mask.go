package report

import (
	"io"
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

// Add registers a secret. Very short values are still masked: a one-letter
// password is a bad password, but printing it is worse.
func (m *Masker) Add(secret string) {
	secret = strings.TrimSpace(secret)
	if secret == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.secrets {
		if s == secret {
			return
		}
	}
	m.secrets = append(m.secrets, secret)
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
}

// Mask returns s with every secret replaced.
func (m *Masker) Mask(s string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, secret := range m.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
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
