package report

import (
	"io"
	"sync"

	"github.com/deploy-action/deploy-action/pkg/mask"
)

// MinSecretLength is mask.MinSecretLength, the shortest secret the CLI accepts.
const MinSecretLength = mask.MinSecretLength

// maskWriter masks everything written through it with the run's one masker
// (pkg/mask). Writes are expected to carry whole messages (the reporter writes
// line by line); a secret split across two writes would not be caught, which is
// why progress output is line-buffered before it gets here. It serialises
// writes: logs, workflow commands and progress lines from concurrent stages all
// end up on one stream.
type maskWriter struct {
	m  *mask.Masker
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
