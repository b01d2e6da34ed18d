package faults

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// TestConcurrentChannelClose closes a channel from four goroutines at once
// while RPCs of all four shapes are held in the server's handlers and
// other goroutines keep starting new ones, twenty times. Held RPCs must
// end with CANCELLED "Channel closed!" (grpcio's status); RPCs racing the
// Close either never start (ErrChannelClosed), end the same way, or
// finish OK first; every Close returns nil, a later Close too, and
// nothing panics or leaks.
func TestConcurrentChannelClose(t *testing.T) {
	leakcheck.Check(t)
	watchdog(t, 2*time.Minute)
	const rounds, heldPerShape, closers, starters = 20, 3, 4, 4
	var reg holdRegistry
	sv := &service{onHold: reg.notify}
	_, addr := serve(t, sv)
	base := quiet(t)

	var held, racing tally
	var closeErrs, panics atomic.Int64
	start := time.Now()
	for round := 0; round < rounds; round++ {
		ch, err := grpc.InsecureChannel(addr)
		if err != nil {
			t.Fatal(err)
		}
		st := newStubs(ch)
		if o := call(st, unary, "x", grpc.WithTimeout(rpcTimeout)); o.code != grpc.StatusCodeOK {
			t.Fatalf("round %d: %v", round, o)
		}
		var ids []string
		for _, sh := range shapes {
			for i := 0; i < heldPerShape; i++ {
				ids = append(ids, fmt.Sprintf("close%d-%v-%d", round, sh, i))
			}
		}
		wait := reg.expect(ids...)
		heldOut := make(chan outcome, len(ids))
		for k, id := range ids {
			goCall(heldOut, st, shapes[k/heldPerShape], "hold:"+id, grpc.WithTimeout(rpcTimeout))
		}
		if !wait(rpcTimeout) {
			t.Fatalf("round %d: held RPCs never reached the server", round)
		}
		// Starters keep starting RPCs (quick ones) until the channel is
		// closed under them.
		stopStarting := make(chan struct{})
		var startersWG sync.WaitGroup
		for s := 0; s < starters; s++ {
			startersWG.Add(1)
			go func() {
				defer startersWG.Done()
				for i := 0; ; i++ {
					o := call(st, shapes[(s+i)%len(shapes)], "n:2", grpc.WithTimeout(rpcTimeout))
					racing.addDetailed(o)
					switch {
					case o.code == grpc.StatusCodeOK,
						o.code == grpc.StatusCodeCancelled && o.details == "Channel closed!":
					case errors.Is(o.err, grpc.ErrChannelClosed):
						return // closed: nothing more can start
					default:
						t.Errorf("round %d: RPC racing Close ended %v (err %v)", round, o, o.err)
					}
					select {
					case <-stopStarting:
						return
					default:
					}
				}
			}()
		}
		time.Sleep(10 * time.Millisecond) // the starters are mid-RPC
		var closersWG sync.WaitGroup
		gate := make(chan struct{})
		for c := 0; c < closers; c++ {
			closersWG.Add(1)
			go func() {
				defer closersWG.Done()
				defer func() {
					if r := recover(); r != nil {
						panics.Add(1)
						t.Errorf("round %d: Close panicked: %v", round, r)
					}
				}()
				<-gate
				if err := ch.Close(); err != nil {
					closeErrs.Add(1)
					t.Errorf("round %d: Close: %v", round, err)
				}
			}()
		}
		close(gate)
		closersWG.Wait()
		if err := ch.Close(); err != nil { // idempotent
			t.Errorf("round %d: Close after Close: %v", round, err)
		}
		close(stopStarting)
		for _, o := range collect(t, heldOut, len(ids), rpcTimeout+5*time.Second) {
			held.addDetailed(o)
			if o.code != grpc.StatusCodeCancelled || o.details != "Channel closed!" {
				t.Errorf("round %d: held RPC ended %v; want CANCELLED \"Channel closed!\"", round, o)
			}
		}
		done := make(chan struct{})
		go func() { startersWG.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(rpcTimeout + 5*time.Second):
			hang(t, "round %d: RPCs racing Close did not end", round)
		}
		if _, err := st.u.Call([]byte("x"), grpc.WithTimeout(rpcTimeout)); !errors.Is(err, grpc.ErrChannelClosed) {
			t.Errorf("round %d: RPC on the closed channel: %v; want ErrChannelClosed", round, err)
		}
	}
	took := time.Since(start)
	after, ok := settle(10*time.Second, backToBase(base))
	t.Logf("FAULT concurrent-close: %d rounds, %d closers, %d held RPCs/shape, %d starters, in %v; held RPCs: %v; "+
		"racing RPCs: %v; Close errors %d, panics %d; before: %v; after: %v",
		rounds, closers, heldPerShape, starters, took.Round(time.Millisecond), &held, &racing,
		closeErrs.Load(), panics.Load(), base, after)
	if !ok {
		t.Errorf("resources did not return to the baseline within 10s: before %v, after %v", base, after)
	}
}
