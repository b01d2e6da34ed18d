package grpc_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// TestBurstMemoryRelease: once the RPCs in progress reached MinPeak and
// fell back to (nearly) none for a second, the server releases memory
// once; with MinPeak 0, or a peak under it, it does not.
func TestBurstMemoryRelease(t *testing.T) {
	leakcheck.Check(t)
	saved := core.ReleaseInterval
	core.ReleaseInterval = 0 // set before the servers start; read on their timers
	t.Cleanup(func() { core.ReleaseInterval = saved })
	const n = 16
	hold := func(minPeak, calls int) int64 {
		var arrived atomic.Int64
		all := make(chan struct{})
		release := make(chan struct{})
		methods := map[string]*grpc.RpcMethodHandler{"Hold": gate(release, func() {
			if arrived.Add(1) == int64(calls) {
				close(all)
			}
		})}
		_, target := serve(t, nil, service("test.B", methods),
			grpc.WithBurstMemoryRelease(grpc.BurstMemoryRelease{MinPeak: minPeak}))
		mc := dial(t, target).UnaryUnary("/test.B/Hold")
		before, _ := core.ReleaseStats()
		var wg sync.WaitGroup
		for range calls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := mc.Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
					t.Error(err)
				}
			}()
		}
		select {
		case <-all:
		case <-time.After(testTimeout):
			t.Fatal("calls did not arrive")
		}
		close(release)
		wg.Wait()
		time.Sleep(core.DefaultBurstRelease.Quiet + 500*time.Millisecond)
		after, _ := core.ReleaseStats()
		return after - before
	}
	if got := hold(n, n); got != 1 {
		t.Errorf("peak %d with MinPeak %d: %d releases, want 1", n, n, got)
	}
	if got := hold(n+1, n); got != 0 {
		t.Errorf("peak %d with MinPeak %d: %d releases, want 0", n, n+1, got)
	}
	if got := hold(0, n); got != 0 {
		t.Errorf("MinPeak 0: %d releases, want 0", got)
	}
}
