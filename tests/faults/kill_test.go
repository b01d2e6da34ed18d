package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// TestServerKilledMidRPC SIGKILLs the server process while RPCs of all four
// shapes are held in its handlers, then starts a new server process on the
// same port, twice. In-flight RPCs must end with a non-OK *RpcError (the
// transport is gone: UNAVAILABLE in core 1.51), never hang; during the
// outage fail-fast RPCs fail with UNAVAILABLE at once, while
// wait-for-ready RPCs started then wait and succeed after the restart;
// once the server is back, fail-fast RPCs succeed again.
func TestServerKilledMidRPC(t *testing.T) {
	leakcheck.Check(t)
	watchdog(t, 3*time.Minute)
	const rounds, perShape = 2, 3
	srv := startChildRetry(t, "127.0.0.1:0")
	addr := srv.addr
	ch := dial(t, addr, fastReconnect...)
	st := newStubs(ch)
	mustOK(t, st)

	var inflight, failFast, wfr, recovery tally
	var maxEnd, maxFailFast, maxWFR, maxBack time.Duration
	for round := 1; round <= rounds; round++ {
		// RPCs of every shape, each held in its handler.
		out := make(chan outcome, 4*perShape)
		for _, sh := range shapes {
			for i := 0; i < perShape; i++ {
				goCall(out, st, sh, fmt.Sprintf("hold:r%d-%v-%d", round, sh, i), grpc.WithTimeout(rpcTimeout))
			}
		}
		if !srv.waitHolds(4*perShape, rpcTimeout) {
			t.Fatalf("round %d: the held RPCs never all reached the server", round)
		}
		killed := time.Now()
		srv.kill()
		for _, o := range collect(t, out, 4*perShape, rpcTimeout+5*time.Second) {
			inflight.addDetailed(o)
			maxEnd = max(maxEnd, time.Since(killed))
			if o.code == grpc.StatusCodeOK || o.code < 0 {
				t.Errorf("round %d: in-flight RPC on a killed server ended %v (err %v); want a non-OK *RpcError", round, o, o.err)
			}
		}

		// The outage: fail-fast RPCs fail at once with UNAVAILABLE.
		for _, sh := range shapes {
			o := call(st, sh, "n:2", grpc.WithTimeout(rpcTimeout))
			failFast.addDetailed(o)
			maxFailFast = max(maxFailFast, o.took)
			if o.code != grpc.StatusCodeUnavailable {
				t.Errorf("round %d: fail-fast RPC during the outage: %v; want UNAVAILABLE", round, o)
			}
		}
		// Wait-for-ready RPCs started during the outage wait for the server.
		wait := make(chan outcome, len(shapes))
		for _, sh := range shapes {
			goCall(wait, st, sh, "n:2", grpc.WithTimeout(rpcTimeout), grpc.WithWaitForReady(true))
		}
		// Give them time to be queued on the channel in TRANSIENT_FAILURE;
		// one that ends now did not wait.
		time.Sleep(300 * time.Millisecond)
		pending := len(shapes)
		for len(wait) > 0 {
			t.Errorf("round %d: a wait-for-ready RPC ended during the outage: %v", round, <-wait)
			pending--
		}
		if o := call(st, unary, "x", grpc.WithTimeout(rpcTimeout)); o.code != grpc.StatusCodeUnavailable {
			t.Errorf("round %d: server still down, but a fail-fast RPC gave %v", round, o)
		}

		restarted := time.Now()
		srv = startChildRetry(t, addr)
		for _, o := range collect(t, wait, pending, rpcTimeout+5*time.Second) {
			wfr.add(o)
			maxWFR = max(maxWFR, time.Since(restarted))
			if o.code != grpc.StatusCodeOK {
				t.Errorf("round %d: wait-for-ready RPC started during the outage: %v; want OK after the restart", round, o)
			}
		}
		// Fail-fast RPCs succeed once the channel has reconnected.
		for {
			o := call(st, unary, "x", grpc.WithTimeout(rpcTimeout))
			recovery.addDetailed(o)
			if o.code == grpc.StatusCodeOK {
				break
			}
			if o.code != grpc.StatusCodeUnavailable {
				t.Errorf("round %d: fail-fast RPC after the restart: %v; want OK or UNAVAILABLE", round, o)
			}
			if time.Since(restarted) > rpcTimeout {
				t.Fatalf("round %d: no fail-fast RPC succeeded within %v of the restart", round, rpcTimeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
		maxBack = max(maxBack, time.Since(restarted))
		mustOK(t, st)
	}
	t.Logf("FAULT server-killed: %d rounds x %d held RPCs/shape; in-flight: %v; ended within %v of SIGKILL; "+
		"fail-fast during outage: %v (slowest %v); wait-for-ready during outage: %v (all done %v after restart); "+
		"fail-fast after restart until first OK: %v (%v after restart)",
		rounds, perShape, &inflight, maxEnd.Round(time.Millisecond), &failFast, maxFailFast.Round(time.Millisecond),
		&wfr, maxWFR.Round(time.Millisecond), &recovery, maxBack.Round(time.Millisecond))
}
