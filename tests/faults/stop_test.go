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

// TestStopUnderLoad stops a server while clients hammer it with RPCs of
// all four shapes, some finishing at once and some held in the handlers
// until the RPC ends: with a grace, with NoGrace, and with four Stops
// (NoGrace, 0, 100 ms, 1 h) racing from goroutines. Stop must return
// (NoGrace only once every handler has returned), the server must stop,
// every handler must finish, and every RPC must end with OK, UNAVAILABLE
// or CANCELLED; nothing hangs and nothing leaks.
func TestStopUnderLoad(t *testing.T) {
	cases := []struct {
		name   string
		graces []time.Duration // one Stop per entry, all at once
	}{
		{"grace-300ms", []time.Duration{300 * time.Millisecond}},
		{"nograce", []time.Duration{grpc.NoGrace}},
		{"concurrent", []time.Duration{grpc.NoGrace, 0, 100 * time.Millisecond, time.Hour}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			watchdog(t, 2*time.Minute)
			stopUnderLoad(t, tc.name, tc.graces)
		})
	}
}

func stopUnderLoad(t *testing.T, name string, graces []time.Duration) {
	const holdersPerShape, hammersPerShape = 2, 3
	var holding atomic.Int64
	sv := &service{onHold: func(string, string) { holding.Add(1) }}
	s, addr := serve(t, sv)
	ch := dial(t, addr)
	st := newStubs(ch)
	mustOK(t, st)

	var before, after tally // RPCs started before Stop returned, and after
	var stopped atomic.Bool
	var served atomic.Int64
	var bad atomic.Int64
	var mu sync.Mutex
	var examples []string
	stopHammering := make(chan struct{})
	var stopOnce sync.Once
	endHammering := func() { stopOnce.Do(func() { close(stopHammering) }) }
	t.Cleanup(endHammering) // also when the test fails half-way
	var wg sync.WaitGroup
	client := func(sh shape, req string) {
		defer wg.Done()
		for {
			select {
			case <-stopHammering:
				return
			default:
			}
			late := stopped.Load()
			o := call(st, sh, req, grpc.WithTimeout(rpcTimeout))
			if late {
				after.addDetailed(o)
			} else {
				before.addDetailed(o)
			}
			ok := o.code == grpc.StatusCodeOK || o.code == grpc.StatusCodeUnavailable || o.code == grpc.StatusCodeCancelled
			if late && o.code == grpc.StatusCodeOK {
				ok = false // the server no longer accepts RPCs
			}
			if !ok {
				bad.Add(1)
				mu.Lock()
				if len(examples) < 10 {
					examples = append(examples, fmt.Sprintf("late=%v %v", late, o))
				}
				mu.Unlock()
			}
			if o.code == grpc.StatusCodeOK {
				served.Add(1)
			} else if late {
				time.Sleep(5 * time.Millisecond) // the server is gone: do not spin
			}
		}
	}
	for _, sh := range shapes {
		for c := 0; c < holdersPerShape; c++ {
			wg.Add(1)
			go client(sh, "hold:h") // each RPC holds until Stop ends it
		}
		for c := 0; c < hammersPerShape; c++ {
			wg.Add(1)
			go client(sh, "n:3")
		}
	}
	// Let the load build up: every holder's RPC is held in its handler and
	// the hammers have had RPCs served.
	deadline := time.Now().Add(rpcTimeout / 2)
	for (holding.Load() < holdersPerShape*int64(len(shapes)) || served.Load() < 100) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := holding.Load(); n < holdersPerShape*int64(len(shapes)) {
		t.Fatalf("only %d RPCs held before Stop", n)
	}
	enteredAtStop, holdingAtStop := sv.entered.Load(), holding.Load()

	stopStart := time.Now()
	var stopWG sync.WaitGroup
	returned := make([]time.Duration, len(graces))
	var events []*grpc.Event
	var evMu sync.Mutex
	handlersLeft := make([]int64, len(graces))
	for k, g := range graces {
		stopWG.Add(1)
		go func() {
			defer stopWG.Done()
			ev := s.Stop(g)
			returned[k] = time.Since(stopStart)
			handlersLeft[k] = sv.entered.Load() - sv.exited.Load()
			evMu.Lock()
			events = append(events, ev)
			evMu.Unlock()
		}()
	}
	stopsDone := make(chan struct{})
	go func() { stopWG.Wait(); close(stopsDone) }()
	select {
	case <-stopsDone:
	case <-time.After(rpcTimeout):
		hang(t, "Stop(%v) did not return within %v", graces, rpcTimeout)
	}
	stopped.Store(true)
	for _, ev := range events {
		if !ev.Wait(rpcTimeout) {
			hang(t, "the server did not stop within %v", rpcTimeout)
		}
	}
	stoppedAfter := time.Since(stopStart)
	for k, g := range graces {
		if g < 0 && handlersLeft[k] != 0 {
			t.Errorf("Stop(NoGrace) returned with %d handlers still running", handlersLeft[k])
		}
	}
	// Handlers finish: every one entered has returned.
	if _, ok := settle(10*time.Second, func(snap) bool { return sv.entered.Load() == sv.exited.Load() }); !ok {
		t.Errorf("handlers still running 10s after the server stopped: %d entered, %d returned",
			sv.entered.Load(), sv.exited.Load())
	}
	// The clients see the server gone for a while, then stop.
	time.Sleep(100 * time.Millisecond)
	endHammering()
	hammerDone := make(chan struct{})
	go func() { wg.Wait(); close(hammerDone) }()
	hung := false
	select {
	case <-hammerDone:
	case <-time.After(rpcTimeout + 5*time.Second):
		hung = true
	}
	t.Logf("FAULT stop-under-load/%s: Stop(%v) x%d; handlers entered %d before Stop (%d holding), %d in all, %d returned; "+
		"Stop returned after %v, server stopped after %v; RPCs started before Stop returned: %v; after: %v; bad: %d; "+
		"an RPC never ended: %v",
		name, graces, len(graces), enteredAtStop, holdingAtStop, sv.entered.Load(), sv.exited.Load(), returned,
		stoppedAfter.Round(time.Millisecond), &before, &after, bad.Load(), hung)
	if hung {
		hang(t, "client RPCs with a %v deadline did not end within %v after the server stopped", rpcTimeout, rpcTimeout+5*time.Second)
	}
	ch.Close()
	for _, e := range examples {
		t.Errorf("RPC ended with a status not allowed: %s", e)
	}
}
