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

// TestStopNeverStrandsStreams repeats a short cycle: a server, clients
// hammering it with RPCs of all four shapes (each with a 2 s deadline),
// Stop(NoGrace) under that load. Every RPC must end within its deadline
// plus a margin. Before core.ClientCall's strand check, a streaming-response
// RPC (server-stream or bidi) cut by the server's stop could get its
// RECV_STATUS_ON_CLIENT batch completed while its separate
// RECV_INITIAL_METADATA batch and a pending RECV_MESSAGE batch never
// completed (the poller was in grpc_completion_queue_next, the batches
// were never posted; grpcio 1.51 strands the same RPCs:
// testdata/grpcio_strand.py); grpcpy waited for both, so the RPC never
// ended, whatever its deadline, and Channel.Close did not free it. It
// happened within 25 cycles in every run under -race with the CPU busy
// (with grpc.enable_retries=0 it did not happen in 255 cycles). Now a
// call whose batches are still pending StrandGrace after its status is
// cancelled, then given up on.
func TestStopNeverStrandsStreams(t *testing.T) {
	leakcheck.Check(t)
	watchdog(t, 2*time.Minute)
	const cycles, perShape = 60, 3
	const deadline, margin = 2 * time.Second, 5 * time.Second
	var total tally
	for cycle := 1; cycle <= cycles; cycle++ {
		sv := &service{}
		s, addr := serve(t, sv)
		ch := dial(t, addr)
		st := newStubs(ch)
		var stop atomic.Bool
		var wg sync.WaitGroup
		var mu sync.Mutex
		var stranded []string
		for _, sh := range shapes {
			clients := perShape
			if sh == serverStream || sh == bidi {
				clients *= 2 // the shapes that strand
			}
			for c := 0; c < clients; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for !stop.Load() {
						end := make(chan outcome, 1)
						go func() { end <- call(st, sh, "n:3", grpc.WithTimeout(deadline)) }()
						select {
						case o := <-end:
							total.addDetailed(o)
						case <-time.After(deadline + margin):
							mu.Lock()
							stranded = append(stranded, sh.String())
							mu.Unlock()
							return // the RPC's goroutine stays stuck: the evidence
						}
					}
				}()
			}
		}
		// Stop once every client is mid-stream.
		for wait := time.Now(); sv.entered.Load() < 6*perShape*4 && time.Since(wait) < 10*time.Second; {
			time.Sleep(time.Millisecond)
		}
		s.Stop(grpc.NoGrace)
		time.Sleep(20 * time.Millisecond) // a few fail-fast RPCs against the stopped server
		stop.Store(true)
		wg.Wait()
		if len(stranded) > 0 {
			t.Logf("FAULT stop-strands-streams: cycle %d of %d: %d RPC(s) stranded (%v), still running %v after their %v deadline; RPCs: %v",
				cycle, cycles, len(stranded), stranded, margin, deadline, &total)
			hang(t, "cycle %d of %d: %d RPC(s) still running %v after their %v deadline (shapes %v); RPCs so far: %v",
				cycle, cycles, len(stranded), margin, deadline, stranded, &total)
		}
		ch.Close()
		if cycle == cycles {
			t.Logf("FAULT stop-strands-streams: %d cycles of Stop(NoGrace) under load, no RPC stranded; RPCs: %v",
				cycles, fmt.Sprint(&total))
		}
	}
}
