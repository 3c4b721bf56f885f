package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// storeLock orders loads against image removals on one engine across the
// processes of this machine. An engine with the classic image store stores a
// loaded image and tags it in two steps, and deletes an image when its last
// tag is removed: a removal between the two steps deletes the image under
// the load. Loads share the lock; removals hold it alone. Processes on other
// machines sharing a remote engine are not ordered: Load's check covers them.
type storeLock struct{ f *flock.Flock }

// lockPoll is how often a wait for the store lock tries again.
const lockPoll = 20 * time.Millisecond

func newStoreLock(host string) storeLock {
	sum := sha256.Sum256([]byte(host))
	return storeLock{flock.New(filepath.Join(os.TempDir(), "deploy-action-engine-"+hex.EncodeToString(sum[:6])+".lock"))}
}

// shared waits for the lock alongside other loads.
func (l storeLock) shared(ctx context.Context) (func(), error) {
	return l.take(ctx, l.f.TryRLockContext)
}

// exclusive waits for the lock alone.
func (l storeLock) exclusive(ctx context.Context) (func(), error) {
	return l.take(ctx, l.f.TryLockContext)
}

func (l storeLock) take(ctx context.Context, try func(context.Context, time.Duration) (bool, error)) (func(), error) {
	ok, err := try(ctx, lockPoll)
	if err == nil && !ok {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("waiting for the engine's image store lock %s: %w", l.f.Path(), err)
	}
	return func() { _ = l.f.Unlock() }, nil
}
