package smoke

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestWaitsFollowTheClock: the run's waits are timers of its clock, so a fake
// clock decides when they end, and a cancelled context ends them at once.
func TestWaitsFollowTheClock(t *testing.T) {
	t.Parallel()
	fc := clocktesting.NewFakeClock(time.Unix(1767225600, 0))
	x := &execution{Runner: &Runner{o: options{clock: fc, poll: 250 * time.Millisecond}}}

	done := make(chan error, 1)
	go func() { done <- x.sleepFor(t.Context(), 10*time.Minute) }()
	for !fc.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	fc.Step(10*time.Minute - time.Nanosecond)
	select {
	case err := <-done:
		t.Fatalf("the wait ended before its time: %v", err)
	default:
	}
	fc.Step(time.Nanosecond)
	assert.NoError(t, <-done)

	ctx, cancel := context.WithCancel(t.Context())
	go func() { done <- x.sleep(ctx) }()
	for !fc.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
}
