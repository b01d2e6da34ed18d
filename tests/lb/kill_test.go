package lb

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// retryJSON is grpcio's raw service config: round_robin, and every
// method of the backend service retried on UNAVAILABLE, up to 5 attempts.
const retryJSON = `{"loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{"name": [{"service": "grpcpy.lb.Backend"}],
    "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// retryPolicy is the same retry policy, typed.
var retryPolicy = &grpc.RetryPolicy{MaxAttempts: 5, InitialBackoff: 50 * time.Millisecond,
	MaxBackoff: 500 * time.Millisecond, BackoffMultiplier: 2,
	RetryableStatusCodes: []grpc.StatusCode{grpc.StatusCodeUnavailable}}

// backendMethods names every method of the backend service.
var backendMethods = []grpc.MethodName{{Service: "grpcpy.lb.Backend"}}

// code is err's status code, or -1 if err is not an *RpcError.
func code(err error) grpc.StatusCode {
	var re *grpc.RpcError
	if errors.As(err, &re) {
		return re.Code()
	}
	return -1
}

// TestKillMidLoad SIGKILLs b2 of 3 round_robin backends mid-load, with
// and without grpcio's retryPolicy (UNAVAILABLE retryable, 5 attempts),
// under two loads: 3,000 Who RPCs from 8 goroutines, b2 killed once
// 1,000 have started; and 600 Slow RPCs held 20 ms each by the backend
// from 24 goroutines, b2 killed once 200 have started, so that about 8
// are in its handlers at the kill. Without the policy, the RPCs in flight
// on b2 (and any picked for it before the channel saw it go) fail with
// UNAVAILABLE: the fast load may be lucky and lose none (the test then
// only requires every failure to be UNAVAILABLE), the slow one must lose
// some. With the policy none fails: they are retried on b1 and b3.
func TestKillMidLoad(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct {
		name               string
		options            []grpc.ChannelOption
		retry, slow        bool
		n, workers, killAt int
	}{
		{name: "Who, no retry policy", options: []grpc.ChannelOption{roundRobin}, n: 3000, workers: 8, killAt: 1000},
		{name: "Who, retryPolicy", options: []grpc.ChannelOption{grpc.Option("grpc.service_config", retryJSON)}, retry: true,
			n: 3000, workers: 8, killAt: 1000},
		{name: "Slow 20ms, no retry policy", options: []grpc.ChannelOption{roundRobin}, slow: true, n: 600, workers: 24, killAt: 200},
		{name: "Slow 20ms, retryPolicy", options: []grpc.ChannelOption{grpc.Option("grpc.service_config", retryJSON)}, retry: true,
			slow: true, n: 600, workers: 24, killAt: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := startBackends(t, 3)
			ch := dial(t, ipv4Target(bs...), tc.options...)
			warmUp(t, ch, "b1", "b2", "b3")
			rpc := func() (string, error) { return who(ch) }
			if tc.slow {
				rpc = func() (string, error) { return slow(ch, 20*time.Millisecond) }
			}
			var killedAt time.Duration
			start := time.Now()
			c, took := loadFunc(tc.n, tc.workers, rpc, tc.killAt, func() {
				killedAt = time.Since(start)
				bs[1].kill()
			})
			t.Logf("LB kill mid-load, round_robin, %s: %d RPCs from %d goroutines in %v, b2 SIGKILLed at RPC %d (%v in): %v",
				tc.name, tc.n, tc.workers, took.Round(time.Millisecond), tc.killAt, killedAt.Round(time.Millisecond), c)
			if c.total()+c.failed() != tc.n {
				t.Errorf("%d answers + %d failures, want %d RPCs", c.total(), c.failed(), tc.n)
			}
			for codeName, k := range c.failures {
				if codeName != grpc.StatusCodeUnavailable.Name() {
					t.Errorf("%d RPCs failed with %s, want only UNAVAILABLE: %v", k, codeName, c.examples)
				}
			}
			switch {
			case tc.retry && c.failed() > 0:
				t.Errorf("%d RPCs failed despite the retry policy: %v", c.failed(), c.examples)
			case !tc.retry && tc.slow && c.failed() == 0:
				t.Errorf("no RPC failed without a retry policy though RPCs were held on b2 when it was killed: %v", c)
			}
		})
	}
}

// TestRestartSamePort SIGKILLs b2 of 3 round_robin backends, keeps it
// down for 1.5 s while RPCs go to b1 and b3 (none failing, thanks to a
// retry policy), restarts it on its port and measures how long until it
// answers again (at most 10 s). The subchannel retries the connection
// with the core's backoff: by default 1 s, then 1.6 times more each time
// (±20%, up to 120 s); with the channel args grpc.initial_reconnect_backoff_ms,
// grpc.min_reconnect_backoff_ms and grpc.max_reconnect_backoff_ms at
// 100, 100 and 200 ms it comes back within a few hundred ms (both times
// are logged). Then a spread of 3,000 RPCs gives b2 its third again.
func TestRestartSamePort(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct {
		name    string
		options []grpc.ChannelOption
	}{
		{name: "reconnect backoff 100-200ms", options: fastReconnect},
		{name: "default reconnect backoff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restart(t, tc.options)
		})
	}
}

func restart(t *testing.T, options []grpc.ChannelOption) {
	const outage = 1500 * time.Millisecond
	bs := startBackends(t, 3)
	config := grpc.WithServiceConfig(grpc.ServiceConfig{LoadBalancingPolicy: "round_robin",
		MethodConfig: []grpc.MethodConfig{{Name: backendMethods, RetryPolicy: retryPolicy}}})
	ch := dial(t, ipv4Target(bs...), append([]grpc.ChannelOption{config}, options...)...)
	warmUp(t, ch, "b1", "b2", "b3")

	bs[1].kill()
	killed := time.Now()
	down := newTally()
	stop := make(chan struct{})
	time.AfterFunc(outage, func() { close(stop) })
	loadUntil(ch, 4, down, stop, time.Millisecond)
	if down.failed() > 0 || down.get("b2") > 0 {
		t.Errorf("with b2 down: %v, want no failure and nothing from b2 (%v)", down, down.examples)
	}

	bs[1].start()
	restarted := time.Now()
	var back time.Duration
	probes := newTally()
	for back == 0 {
		name, err := who(ch)
		probes.add(name, err)
		if name == "b2" {
			back = time.Since(restarted)
		} else if time.Since(restarted) > 10*time.Second {
			t.Fatalf("b2, restarted on %s, got no RPC within 10 s: %v", bs[1].addr(), probes)
		} else {
			time.Sleep(5 * time.Millisecond)
		}
	}
	c, took := load(ch, spreadRPCs, spreadWorkers, nil, 0, nil)
	t.Logf("LB restart (%s), round_robin: b2 SIGKILLed, down %v: %v; restarted on the same port %s: first answer %v after it "+
		"served again (probes %v); then %d RPCs in %v: %v", t.Name()[strings.LastIndex(t.Name(), "/")+1:],
		restarted.Sub(killed).Round(time.Millisecond), down, bs[1].addr(), back.Round(time.Millisecond), probes,
		spreadRPCs, took.Round(time.Millisecond), c)
	if probes.failed() > 0 || c.failed() > 0 {
		t.Errorf("RPCs failed: probes %v, spread %v (%v %v)", probes, c, probes.examples, c.examples)
	}
	checkShare(t, "after the restart", c, 0.25, 0.42, "b1", "b2", "b3")
}

// TestPickFirstFailover SIGKILLs b1, the backend pick_first (the default)
// sends everything to, while 4 goroutines make RPCs. pick_first then
// connects to the next address, b2, and the RPCs follow; b3 never gets
// one. The RPCs carry wait_for_ready, or the channel has a retry policy:
// with either, no RPC started after the switch (b2's first answer) fails;
// with the retry policy none fails at all (RPCs in flight on b1 are
// retried). The time from the kill to b2's first answer is logged.
func TestPickFirstFailover(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct {
		name     string
		options  []grpc.ChannelOption
		callOpts []grpc.CallOption
		retry    bool
	}{
		{name: "wait_for_ready", callOpts: []grpc.CallOption{grpc.WithWaitForReady(true)}},
		{name: "retryPolicy", retry: true, options: []grpc.ChannelOption{grpc.WithServiceConfig(grpc.ServiceConfig{
			MethodConfig: []grpc.MethodConfig{{Name: backendMethods, RetryPolicy: retryPolicy}}})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs := startBackends(t, 3)
			ch := dial(t, ipv4Target(bs...), append(tc.options, fastReconnect...)...)
			warmUp(t, ch, "b1")

			var killed, switched atomic.Int64 // UnixNano
			before, after := newTally(), newTally()
			var lateFailures atomic.Int64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						started := time.Now().UnixNano()
						name, err := who(ch, tc.callOpts...)
						if k := killed.Load(); k != 0 && started > k {
							after.add(name, err)
						} else {
							before.add(name, err)
						}
						if name == "b2" {
							switched.CompareAndSwap(0, time.Now().UnixNano())
						}
						if s := switched.Load(); err != nil && s != 0 && started > s {
							lateFailures.Add(1)
						}
						time.Sleep(time.Millisecond)
					}
				}()
			}
			time.Sleep(300 * time.Millisecond)
			killed.Store(time.Now().UnixNano())
			bs[0].kill()
			deadline := time.Now().Add(10 * time.Second)
			for switched.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond) // RPCs on b2
			close(stop)
			wg.Wait()

			took := "no switch within 10s"
			if s := switched.Load(); s != 0 {
				took = time.Duration(s - killed.Load()).Round(time.Millisecond).String()
			}
			t.Logf("LB pick_first failover, %s: before the kill %v; started after the kill %v; b1 SIGKILLed → first answer from b2 after %s; "+
				"failures after the switch: %d", tc.name, before, after, took, lateFailures.Load())
			if switched.Load() == 0 {
				t.Fatalf("no RPC reached b2 within 10 s of b1's kill: %v", after)
			}
			// An RPC started before the kill may be answered by b2: with
			// the retry policy, one in flight on b1 is retried there.
			if before.get("b1") == 0 || before.get("b3") > 0 {
				t.Errorf("before the kill, want answers from b1 and none from b3: %v", before)
			}
			if after.get("b3") > 0 || after.get("b2") == 0 {
				t.Errorf("after the kill, want answers from b2 (and b1 for RPCs already there), none from b3: %v", after)
			}
			if lateFailures.Load() > 0 {
				t.Errorf("%d RPCs started after the switch to b2 failed: %v", lateFailures.Load(), after.examples)
			}
			if tc.retry && before.failed()+after.failed() > 0 {
				t.Errorf("RPCs failed despite the retry policy: %v / %v (%v %v)", before, after, before.examples, after.examples)
			}
		})
	}
}

// TestWaitForReadyOutage SIGKILLs all 3 round_robin backends. During the
// outage RPCs without wait_for_ready fail fast with UNAVAILABLE, while 30
// RPCs with wait_for_ready and a 20 s deadline wait; the backends are
// restarted on their ports and every waiting RPC completes OK. Then the
// channel spreads over the three again. wait_for_ready comes from the
// call (wait_for_ready=True; the fail-fast RPCs pass nothing) or from the
// typed service config's waitForReady (the waiting RPCs pass nothing; the
// fail-fast ones pass wait_for_ready=False, which overrides it as in
// grpcio).
func TestWaitForReadyOutage(t *testing.T) {
	leakcheck.Check(t)
	yes := true
	for _, tc := range []struct {
		name       string
		options    []grpc.ChannelOption
		wait, fail []grpc.CallOption
	}{
		{name: "call option", options: []grpc.ChannelOption{roundRobin},
			wait: []grpc.CallOption{grpc.WithWaitForReady(true)}},
		{name: "service config waitForReady", options: []grpc.ChannelOption{grpc.WithServiceConfig(grpc.ServiceConfig{
			LoadBalancingPolicy: "round_robin",
			MethodConfig:        []grpc.MethodConfig{{Name: backendMethods, WaitForReady: &yes}}})},
			fail: []grpc.CallOption{grpc.WithWaitForReady(false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outage(t, tc.options, tc.wait, tc.fail)
		})
	}
}

func outage(t *testing.T, options []grpc.ChannelOption, waitOpts, failOpts []grpc.CallOption) {
	const waiting, failFast = 30, 30
	bs := startBackends(t, 3)
	ch := dial(t, ipv4Target(bs...), append(options, fastReconnect...)...)
	warmUp(t, ch, "b1", "b2", "b3")
	for _, b := range bs {
		b.kill()
	}

	ff := newTally()
	var slowestFF time.Duration
	for range failFast {
		start := time.Now()
		name, err := who(ch, failOpts...)
		slowestFF = max(slowestFF, time.Since(start))
		ff.add(name, err)
	}

	type result struct {
		name string
		err  error
		at   time.Time
	}
	results := make(chan result, waiting)
	for range waiting {
		go func() {
			name, err := who(ch, append(waitOpts, grpc.WithTimeout(rpcTimeout))...)
			results <- result{name, err, time.Now()}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(results); n > 0 {
		t.Errorf("%d wait_for_ready RPCs ended during the outage, want them waiting", n)
	}
	// Still failing fast while wait_for_ready RPCs wait.
	if name, err := who(ch, failOpts...); code(err) != grpc.StatusCodeUnavailable {
		ff.add(name, err)
		t.Errorf("fail-fast RPC during the outage with RPCs waiting: %q %v, want UNAVAILABLE", name, err)
	}

	restarted := time.Now()
	for _, b := range bs {
		b.start()
	}
	served := time.Since(restarted)
	wfr := newTally()
	var last time.Duration
	for range waiting {
		select {
		case r := <-results:
			wfr.add(r.name, r.err)
			last = max(last, r.at.Sub(restarted))
		case <-time.After(rpcTimeout + 5*time.Second):
			t.Fatalf("wait_for_ready RPCs never ended: %v so far", wfr)
		}
	}
	warmUp(t, ch, "b1", "b2", "b3")
	c, took := load(ch, spreadRPCs, spreadWorkers, nil, 0, nil)
	t.Logf("LB wait_for_ready outage (%s), round_robin, all 3 backends SIGKILLed: %d fail-fast RPCs: %v (slowest %v); "+
		"%d wait_for_ready RPCs: %v, all done %v after the restart began (backends serving after %v); then %d RPCs in %v: %v",
		t.Name()[strings.LastIndex(t.Name(), "/")+1:], failFast, ff, slowestFF.Round(time.Millisecond), waiting, wfr,
		last.Round(time.Millisecond), served.Round(time.Millisecond), spreadRPCs, took.Round(time.Millisecond), c)
	if ff.total() > 0 || ff.failures[grpc.StatusCodeUnavailable.Name()] != ff.failed() {
		t.Errorf("fail-fast RPCs during the outage: %v, want all UNAVAILABLE (%v)", ff, ff.examples)
	}
	if slowestFF > 5*time.Second {
		t.Errorf("a fail-fast RPC took %v to fail during the outage, want it to fail fast", slowestFF)
	}
	if wfr.failed() > 0 || wfr.total() != waiting {
		t.Errorf("wait_for_ready RPCs across the outage: %v, want all %d OK (%v)", wfr, waiting, wfr.examples)
	}
	if c.failed() > 0 {
		t.Errorf("after recovery: %v (%v)", c, c.examples)
	}
	checkShare(t, "after recovery", c, 0.25, 0.42, "b1", "b2", "b3")
}
