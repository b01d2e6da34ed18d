package core

import (
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/cgo"
)

// A pending watch with no deadline must complete when the channel is
// destroyed, or Close would strand its tag (and a C batch) forever.
func TestWatchCompletesOnDestroy(t *testing.T) {
	ch, err := NewChannel("127.0.0.1:1", cgo.ChannelCredentials{}, &Args{})
	if err != nil {
		t.Fatal(err)
	}
	state, _ := ch.State(false)
	fired := make(chan bool, 1)
	if err := ch.Watch(state, func(ok bool) { fired <- ok }); err != nil {
		t.Fatal(err)
	}
	// Watch registers the core watch before returning; the channel stays
	// IDLE (nothing asks it to connect), so the watch is still pending.
	select {
	case ok := <-fired:
		t.Fatalf("watch completed before the channel was destroyed (success=%v)", ok)
	default:
	}
	ch.Close()
	select {
	case ok := <-fired:
		// Destroying the channel moves it to SHUTDOWN, a change from the
		// watched state; with no deadline the watch cannot time out, so the
		// core completes it with success.
		if !ok {
			t.Fatal("watch completed on destroy with success=false; want true (state changed to SHUTDOWN)")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch never completed after the channel was destroyed")
	}
	if err := ch.Watch(0, func(bool) {}); err != ErrChannelClosed {
		t.Fatalf("Watch on a closed channel: %v", err)
	}
}
