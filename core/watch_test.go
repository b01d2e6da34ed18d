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
	time.Sleep(50 * time.Millisecond)
	ch.Close()
	select {
	case ok := <-fired:
		t.Logf("watch completed on destroy, success=%v", ok)
	case <-time.After(10 * time.Second):
		t.Fatal("watch never completed after the channel was destroyed")
	}
	if err := ch.Watch(0, func(bool) {}); err != ErrChannelClosed {
		t.Fatalf("Watch on a closed channel: %v", err)
	}
}
