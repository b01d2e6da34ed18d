package faults

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// TestChannelChurn creates, uses and closes 500 channels, 8 at a time:
// every channel makes one RPC; every fifth one also has RPCs of all four
// shapes in flight when it is closed (half of them held in the server's
// handlers, half just started), and every tenth subscribes to its
// connectivity. Half the channels use a local subchannel pool, so they
// open connections of their own instead of sharing the global pool's.
// In-flight RPCs must end with CANCELLED "Channel closed!"; afterwards
// fds, goroutines and C objects return to their baseline and OS threads
// stay bounded.
func TestChannelChurn(t *testing.T) {
	leakcheck.Check(t)
	watchdog(t, 3*time.Minute)
	const channels, parallel, maxExtraThreads = 500, 8, 24
	var reg holdRegistry
	sv := &service{onHold: reg.notify}
	_, addr := serve(t, sv)

	var inflight, closedDetails tally
	var subs, shutdowns atomic.Int64
	var failures atomic.Int64
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	churn := func(from, n int) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		next.Store(int64(from))
		for w := 0; w < parallel; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= from+n {
						return
					}
					churnOne(t, addr, i, &reg, &inflight, &closedDetails, &subs, &shutdowns, fail)
				}
			}()
		}
		wg.Wait()
	}
	// Warm up: the core's threads, the engine and the Go runtime's
	// threads reach their working size before the baseline.
	churn(0, 2*parallel)
	base := quiet(t)
	start := time.Now()
	stopSampling := sampler()
	churn(2*parallel, channels)
	took := time.Since(start)
	peak := stopSampling()
	after, ok := settle(20*time.Second, backToBase(base))
	t.Logf("FAULT channel-churn: %d channels (%d at a time) in %v; in-flight RPCs at Close: %v; details: %v; "+
		"subscriptions %d, SHUTDOWN delivered %d; before: %v; peak: %v; settled: %v (settled=%v)",
		channels, parallel, took.Round(time.Millisecond), &inflight, &closedDetails, subs.Load(), shutdowns.Load(),
		base, peak, after, ok)
	if !ok {
		t.Errorf("resources did not return to the baseline within 20s: before %v, after %v", base, after)
	}
	if after.threads > base.threads+maxExtraThreads {
		t.Errorf("OS threads grew from %d to %d over %d channels", base.threads, after.threads, channels)
	}
	if s, d := subs.Load(), shutdowns.Load(); d != s {
		t.Errorf("%d subscriptions saw SHUTDOWN %d times; want once each", s, d)
	}
}

func churnOne(t *testing.T, addr string, i int, reg *holdRegistry, inflight, closedDetails *tally,
	subs, shutdowns *atomic.Int64, fail func(string, ...any)) {
	var opts []grpc.ChannelOption
	if i%2 == 1 {
		opts = append(opts, grpc.ChannelOption{Key: "grpc.use_local_subchannel_pool", Value: 1})
	}
	ch, err := grpc.InsecureChannel(addr, opts...)
	if err != nil {
		fail("channel %d: %v", i, err)
		return
	}
	st := newStubs(ch)
	if i%10 == 0 {
		var once sync.Once
		subs.Add(1)
		ch.Subscribe(func(s grpc.ChannelConnectivity) {
			if s == grpc.ChannelConnectivityShutdown {
				once.Do(func() { shutdowns.Add(1) })
			}
		}, true)
	}
	if o := call(st, unary, "x", grpc.WithTimeout(rpcTimeout)); o.code != grpc.StatusCodeOK {
		fail("channel %d: RPC failed: %v", i, o)
	}
	var out chan outcome
	if i%5 == 0 {
		out = make(chan outcome, len(shapes))
		var ids []string
		for _, sh := range shapes {
			ids = append(ids, fmt.Sprintf("churn%d-%v", i, sh))
		}
		held := reg.expect(ids...) // before the RPCs start: no notice is missed
		for k, sh := range shapes {
			// Started here, before Close: only their ends are awaited apart.
			end := start(st, sh, "hold:"+ids[k], grpc.WithTimeout(rpcTimeout))
			go func() { out <- end() }()
		}
		if i%10 == 0 {
			// Held in the handlers: really in flight on the server.
			if !held(rpcTimeout) {
				fail("channel %d: held RPCs never reached the server", i)
			}
		}
	}
	if err := ch.Close(); err != nil {
		fail("channel %d: Close: %v", i, err)
	}
	if out == nil {
		return
	}
	timer := time.NewTimer(rpcTimeout + 5*time.Second)
	defer timer.Stop()
	for range shapes {
		select {
		case o := <-out:
			inflight.add(o)
			closedDetails.addKey("details", fmt.Sprintf("%q", o.details))
			if o.code != grpc.StatusCodeCancelled || o.details != "Channel closed!" {
				fail("channel %d: in-flight RPC at Close ended %v; want CANCELLED \"Channel closed!\"", i, o)
			}
		case <-timer.C:
			fail("HANG: channel %d: an in-flight RPC did not end after Close", i)
			return
		}
	}
}
