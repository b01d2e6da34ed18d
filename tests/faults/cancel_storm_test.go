package faults

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// stormMode is how one RPC of the storm is cut short.
type stormMode int

const (
	negTimeout     stormMode = iota // WithTimeout(-1ms)
	zeroTimeout                     // WithTimeout(0)
	tinyTimeout                     // WithTimeout(0..20ms)
	ctxTimeout                      // WithContext(context.WithTimeout(0..20ms))
	ctxExpired                      // WithContext of a context whose deadline has passed
	ctxCancelLater                  // WithContext, cancelled after 0..20ms
	ctxCancelled                    // WithContext of a context already cancelled
	cancelCall                      // Future.Cancel / CallIterator.Cancel at a random point
	nModes
)

func (m stormMode) String() string {
	return [...]string{"timeout<0", "timeout=0", "timeout-tiny", "ctx-timeout", "ctx-expired",
		"ctx-cancel", "ctx-cancelled", "call-cancel"}[m]
}

func (m stormMode) deadline() bool { return m <= ctxExpired }

// TestCancelAndDeadlineStorm runs 2,000 RPCs per shape, each cut short by
// one of the modes above, against requests that either finish at once or
// hold until the RPC ends. Every RPC must end, with DEADLINE_EXCEEDED (a
// deadline mode), CANCELLED (a cancel mode) or OK (it finished first; never
// for a held RPC nor an already expired or cancelled one); an expired
// deadline is never reported as CANCELLED. Afterwards the server still
// serves and C objects and goroutines return to their baseline.
func TestCancelAndDeadlineStorm(t *testing.T) {
	leakcheck.Check(t)
	watchdog(t, 3*time.Minute)
	const perShape, workersPerShape = 2000, 6
	sv := &service{}
	_, addr := serve(t, sv)
	ch := dial(t, addr)
	st := newStubs(ch)
	mustOK(t, st)
	base := quiet(t)

	var byMode, byShape tally
	var slowest atomic.Int64
	var violations atomic.Int64
	var mu sync.Mutex
	var examples []string
	violate := func(format string, args ...any) {
		violations.Add(1)
		mu.Lock()
		defer mu.Unlock()
		if len(examples) < 15 {
			examples = append(examples, fmt.Sprintf(format, args...))
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, sh := range shapes {
		for w := 0; w < workersPerShape; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(sh), uint64(w)))
				for i := w; i < perShape; i += workersPerShape {
					mode := stormMode(i % int(nModes))
					held := i/int(nModes)%2 == 0
					o, cancelled := stormRPC(st, sh, mode, held, rng)
					kind := "quick"
					if held {
						kind = "held"
					}
					byMode.addKey(mode.String()+"/"+kind, codeName(o.code))
					byShape.add(o)
					if int64(o.took) > slowest.Load() {
						slowest.Store(int64(o.took)) // racy max, good enough for a figure
					}
					if o.took > rpcTimeout+10*time.Second {
						violate("%v %v held=%v: %v: ended long after its deadline", sh, mode, held, o)
					}
					if v := stormViolation(o, mode, held, cancelled); v != "" {
						violate("%v %v held=%v: %v: %s", sh, mode, held, o, v)
					}
				}
			}()
		}
	}
	wg.Wait()
	took := time.Since(start)

	// The server still serves.
	mustOK(t, st)
	after, ok := settle(10*time.Second, backToBase(base))
	t.Logf("FAULT cancel-deadline-storm: %d RPCs (%d/shape, %d workers/shape) in %v (slowest RPC %v); by mode: %v; by shape: %v; "+
		"violations: %d; before: %v; after: %v",
		perShape*len(shapes), perShape, workersPerShape, took.Round(time.Millisecond),
		time.Duration(slowest.Load()).Round(time.Millisecond), &byMode, &byShape,
		violations.Load(), base, after)
	for _, e := range examples {
		t.Errorf("violation: %s", e)
	}
	if !ok {
		t.Errorf("resources did not return to the baseline within 10s: before %v, after %v", base, after)
	}
}

// stormViolation says what is wrong with o for its mode, "" if nothing.
func stormViolation(o outcome, mode stormMode, held, cancelled bool) string {
	if o.code < 0 && !cancelled {
		return "error is not an *RpcError (or a Call status)"
	}
	if mode.deadline() {
		switch {
		case o.code == grpc.StatusCodeCancelled:
			return "an expired deadline reported as CANCELLED"
		case o.code == grpc.StatusCodeOK && (held || mode == negTimeout || mode == zeroTimeout || mode == ctxExpired):
			return "OK although the deadline had passed before the RPC could finish"
		case o.code != grpc.StatusCodeOK && o.code != grpc.StatusCodeDeadlineExceeded:
			return "want DEADLINE_EXCEEDED (or OK)"
		}
		return ""
	}
	switch {
	case o.code == grpc.StatusCodeOK && (held || mode == ctxCancelled):
		return "OK although the RPC was cancelled before it could finish"
	case o.code != grpc.StatusCodeOK && o.code != grpc.StatusCodeCancelled:
		return "want CANCELLED (or OK)"
	}
	return ""
}

// tiny is a random delay of 0 to 20 ms: around the time an RPC takes in
// the storm (5 to 30 ms under -race), so that cancellations and deadlines
// race the RPC's completion.
func tiny(rng *rand.Rand) time.Duration { return time.Duration(rng.IntN(20001)) * time.Microsecond }

// stormRPC runs one RPC of shape sh cut short by mode. held makes the
// server hold it until it ends. cancelled reports that the Call's own
// Cancel ended it (the error is then FutureCancelledError, not an
// *RpcError; the code is read from the Call).
func stormRPC(st stubs, sh shape, mode stormMode, held bool, rng *rand.Rand) (o outcome, cancelled bool) {
	req := "n:20"
	if held {
		req = "hold:"
	}
	opts := []grpc.CallOption{grpc.WithTimeout(rpcTimeout)}
	switch mode {
	case negTimeout:
		opts = []grpc.CallOption{grpc.WithTimeout(-time.Millisecond)}
	case zeroTimeout:
		opts = []grpc.CallOption{grpc.WithTimeout(0)}
	case tinyTimeout:
		opts = []grpc.CallOption{grpc.WithTimeout(tiny(rng))}
	case ctxTimeout:
		ctx, cancel := context.WithTimeout(context.Background(), tiny(rng))
		defer cancel()
		opts = append(opts, grpc.WithContext(ctx))
	case ctxExpired:
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
		defer cancel()
		opts = append(opts, grpc.WithContext(ctx))
	case ctxCancelLater:
		ctx, cancel := context.WithCancel(context.Background())
		timer := time.AfterFunc(tiny(rng), cancel)
		defer timer.Stop()
		defer cancel()
		opts = append(opts, grpc.WithContext(ctx))
	case ctxCancelled:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		opts = append(opts, grpc.WithContext(ctx))
	case cancelCall:
		return cancelAtRandom(st, sh, req, rng, opts)
	}
	return call(st, sh, req, opts...), false
}

// manyRequests yields up to n requests, then last (the command that may
// hold the RPC on the server), stopping when the RPC ends.
func manyRequests(n int, last string) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for i := 0; i < n; i++ {
			if !yield([]byte("r"), nil) {
				return
			}
		}
		yield([]byte(last), nil)
	}
}

// cancelAtRandom starts an RPC and cancels it through its Call at a random
// point: before anything, after a random delay, or after a random number
// of responses (leaving a range loop early, for a bidi stream).
func cancelAtRandom(st stubs, sh shape, req string, rng *rand.Rand, opts []grpc.CallOption) (outcome, bool) {
	o := outcome{shape: sh}
	start := time.Now()
	point := rng.IntN(3) // 0: at once, 1: after a delay, 2: after reading
	delay := tiny(rng)
	var c grpc.Call
	var err error
	switch sh {
	case unary, clientStream:
		var f grpc.CallFuture
		if sh == unary {
			f, err = st.u.Future([]byte(req), opts...)
		} else {
			f, err = st.su.Future(manyRequests(50, req), opts...)
		}
		if err != nil {
			o.setErr(err)
			return o, false
		}
		if point > 0 {
			time.Sleep(delay)
		}
		f.Cancel()
		_, err = f.Result(rpcTimeout)
		if errors.As(err, new(grpc.FutureTimeoutError)) {
			o.code, o.details, o.err = notRPCError, "HANG: Result timed out after Cancel", err
			return o, false
		}
		c = f
	case serverStream, bidi:
		var it grpc.CallIterator
		if sh == serverStream {
			it, err = st.us.Call([]byte(req), opts...)
		} else {
			it, err = st.ss.Call(manyRequests(50, req), opts...)
		}
		if err != nil {
			o.setErr(err)
			return o, false
		}
		switch point {
		case 1:
			time.Sleep(delay)
		case 2:
			k := rng.IntN(4)
			if req != "n:20" {
				k = rng.IntN(2) // a held stream sends one response: a second read would wait for the deadline
			}
			if sh == bidi {
				// Leaving a range loop early cancels the RPC.
				for _, err := range it.All() {
					if err != nil || o.msgs >= k {
						break
					}
					o.msgs++
				}
			} else {
				for ; o.msgs < k; o.msgs++ {
					if _, err := it.Next(); err != nil {
						break
					}
				}
			}
		}
		it.Cancel()
		for {
			if _, err = it.Next(); err != nil {
				break
			}
		}
		c = it
	}
	// The Call's status, once it has one: Code blocks until then.
	done := make(chan struct{})
	go func() { o.code, o.details = c.Code(), c.Details(); close(done) }()
	select {
	case <-done:
	case <-time.After(rpcTimeout):
		o.code, o.details = notRPCError, "HANG: Code() did not return after Cancel"
	}
	o.err = err
	o.took = time.Since(start)
	return o, true
}
