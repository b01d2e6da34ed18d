package grpc_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func TestServerPortsAndStart(t *testing.T) {
	leakcheck.Check(t)
	s, target := serve(t, nil, service("test.P", map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()}))
	if err := s.Start(); !errors.Is(err, grpc.ErrServerStarted) {
		t.Fatalf("second Start: %v, want ErrServerStarted", err)
	}
	if _, err := s.AddInsecurePort("127.0.0.1:0"); !errors.Is(err, grpc.ErrServerStarted) {
		t.Fatalf("AddInsecurePort after Start: %v", err)
	}
	if err := s.AddGenericRpcHandlers(); !errors.Is(err, grpc.ErrServerStarted) {
		t.Fatalf("AddGenericRpcHandlers after Start: %v", err)
	}

	_ = target
	// A port held by a socket without SO_REUSEPORT cannot be bound. (Two
	// core servers may share a port: the core sets SO_REUSEPORT unless the
	// option grpc.so_reuseport is 0, as for grpcio.)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	other, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Stop(grpc.NoGrace)
	_, err = other.AddInsecurePort(l.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "Failed to bind to address "+l.Addr().String()) {
		t.Fatalf("binding a used port: err = %v", err)
	}
	if _, err := other.AddInsecurePort("not an address:x"); err == nil {
		t.Fatal("binding a malformed address succeeded")
	}
}

func TestStopBeforeStartAndStopTwice(t *testing.T) {
	leakcheck.Check(t)
	s, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddInsecurePort("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	ev := s.Stop(time.Second)
	if !ev.Wait(testTimeout) || !ev.IsSet() {
		t.Fatal("stop before start never completed")
	}
	if !s.Stop(grpc.NoGrace).IsSet() {
		t.Fatal("second stop: event not set")
	}
	if err := s.Start(); !errors.Is(err, grpc.ErrServerStarted) && !errors.Is(err, grpc.ErrServerStopped) {
		t.Fatalf("Start after Stop: %v", err)
	}
	if !s.WaitForTermination(0) {
		t.Fatal("WaitForTermination on a stopped server returned false")
	}
}

func TestStopGraceLetsRPCsFinishThenCancels(t *testing.T) {
	leakcheck.Check(t)
	entered := make(chan struct{}, 2)
	methods := map[string]*grpc.RpcMethodHandler{
		"Sleep": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			entered <- struct{}{}
			d, _ := time.ParseDuration(string(req.([]byte)))
			select {
			case <-time.After(d):
			case <-ctx.Context().Done():
			}
			return req, nil
		}),
	}
	s, target := serve(t, nil, service("test.G", methods))
	ch := dial(t, target)
	mc := ch.UnaryUnary("/test.G/Sleep")
	short, _ := mc.Future([]byte("200ms"), grpc.WithTimeout(testTimeout))
	long, _ := mc.Future([]byte("1h"), grpc.WithTimeout(testTimeout))
	<-entered
	<-entered
	start := time.Now()
	ev := s.Stop(time.Second)
	if time.Since(start) > 500*time.Millisecond {
		t.Fatal("Stop with a grace blocked")
	}
	if ev.IsSet() {
		t.Fatal("event set while RPCs are in flight")
	}
	// New RPCs are refused at once.
	if _, err := mc.Call([]byte("0s"), grpc.WithTimeout(testTimeout)); err == nil {
		t.Fatal("an RPC started after Stop succeeded")
	}
	if _, err := short.Result(testTimeout); err != nil {
		t.Fatalf("RPC finishing inside the grace failed: %v", err)
	}
	_, err := long.Result(testTimeout)
	abortedByStop(t, err)
	if el := time.Since(start); el < 900*time.Millisecond || el > 10*time.Second {
		t.Fatalf("long RPC ended after %v, want about the 1s grace", el)
	}
	// A shorter grace from a second Stop wins; both events are the same.
	if !s.Stop(time.Hour).Wait(testTimeout) || !ev.Wait(testTimeout) {
		t.Fatal("server never stopped")
	}
}

func TestStopShorterGraceWins(t *testing.T) {
	leakcheck.Check(t)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	methods := map[string]*grpc.RpcMethodHandler{
		"Gate": gate(release, func() { entered <- struct{}{} }),
	}
	s, target := serve(t, nil, service("test.G2", methods))
	ch := dial(t, target)
	f, _ := ch.UnaryUnary("/test.G2/Gate").Future([]byte("x"), grpc.WithTimeout(testTimeout))
	<-entered
	start := time.Now()
	s.Stop(time.Hour)
	s.Stop(100 * time.Millisecond)
	s.Stop(time.Hour) // longer: does not delay
	if !s.WaitForTermination(testTimeout) {
		t.Fatal("not stopped")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("stop took %v; the most restrictive grace (100ms) should win", el)
	}
	_, err := f.Result(testTimeout)
	abortedByStop(t, err)
}

func TestStopNoGraceBlocksUntilHandlersReturn(t *testing.T) {
	leakcheck.Check(t)
	entered := make(chan struct{}, 1)
	var returned atomic.Bool
	methods := map[string]*grpc.RpcMethodHandler{
		"Stubborn": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			entered <- struct{}{}
			<-ctx.Context().Done()
			time.Sleep(200 * time.Millisecond) // slow clean-up after cancellation: what Stop must wait for
			returned.Store(true)
			return req, nil
		}),
	}
	s, target := serve(t, nil, service("test.N", methods))
	ch := dial(t, target)
	f, _ := ch.UnaryUnary("/test.N/Stubborn").Future([]byte("x"), grpc.WithTimeout(testTimeout))
	<-entered
	ev := s.Stop(grpc.NoGrace)
	if !ev.IsSet() || !returned.Load() {
		t.Fatalf("Stop(NoGrace) returned before the handler (event set=%v, handler returned=%v)", ev.IsSet(), returned.Load())
	}
	_, err := f.Result(testTimeout)
	abortedByStop(t, err)
}

// abortedByStop checks the status a client sees for an RPC aborted by
// Server.Stop: grpc_server_cancel_all_calls in core 1.51 ends calls with
// UNAVAILABLE "Cancelling all calls" (what grpcio 1.51 clients see too).
func abortedByStop(t *testing.T, err error) {
	t.Helper()
	if r := rpcErr(t, err, grpc.StatusCodeUnavailable); r.Details() != "Cancelling all calls" {
		t.Fatalf("details %q", r.Details())
	}
}

func TestMaximumConcurrentRpcs(t *testing.T) {
	leakcheck.Check(t)
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	methods := map[string]*grpc.RpcMethodHandler{
		"Gate": gate(release, func() { entered <- struct{}{} }),
	}
	_, target := serve(t, nil, service("test.L", methods), grpc.WithMaximumConcurrentRpcs(2))
	ch := dial(t, target)
	mc := ch.UnaryUnary("/test.L/Gate")
	a, _ := mc.Future([]byte("a"), grpc.WithTimeout(testTimeout))
	b, _ := mc.Future([]byte("b"), grpc.WithTimeout(testTimeout))
	<-entered
	<-entered
	_, err := mc.Call([]byte("c"), grpc.WithTimeout(testTimeout))
	if r := rpcErr(t, err, grpc.StatusCodeResourceExhausted); r.Details() != "Concurrent RPC limit exceeded!" {
		t.Fatalf("details %q", r.Details())
	}
	close(release)
	for _, f := range []grpc.CallFuture{a, b} {
		if _, err := f.Result(testTimeout); err != nil {
			t.Fatal(err)
		}
	}
	// Capacity is given back when RPCs end.
	for i := 0; i < 3; i++ {
		if _, err := mc.Call([]byte("d"), grpc.WithTimeout(testTimeout)); err != nil {
			t.Fatalf("after the limit cleared: %v", err)
		}
	}
}

func TestThreadPoolExecutorBoundsHandlers(t *testing.T) {
	leakcheck.Check(t)
	pool := grpc.NewThreadPoolExecutor(2)
	defer pool.Shutdown(true)
	var running, peak atomic.Int64
	methods := map[string]*grpc.RpcMethodHandler{
		"Work": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(50 * time.Millisecond) // work: keeps handlers overlapping so peak shows the bound
			running.Add(-1)
			return req, nil
		}),
	}
	_, target := serve(t, pool, service("test.T", methods))
	ch := dial(t, target)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ch.UnaryUnary("/test.T/Work").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrent handlers = %d with max_workers=2", p)
	}
}

func TestChannelOptionsReachTheCore(t *testing.T) {
	leakcheck.Check(t)
	_, target := serve(t, nil, service("test.O", map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()}))
	ch := dial(t, target, grpc.ChannelOption{Key: "grpc.max_receive_message_length", Value: 1024},
		grpc.ChannelOption{Key: "grpc.primary_user_agent", Value: "grpcpy-test"})
	mc := ch.UnaryUnary("/test.O/Echo")
	if _, err := mc.Call(make([]byte, 100), grpc.WithTimeout(testTimeout)); err != nil {
		t.Fatalf("small message: %v", err)
	}
	_, err := mc.Call(make([]byte, 4096), grpc.WithTimeout(testTimeout))
	rpcErr(t, err, grpc.StatusCodeResourceExhausted)

	// The server's own limit, from NewServer options.
	_, target2 := serve(t, nil, service("test.O", map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()}),
		grpc.WithOptions(grpc.ChannelOption{Key: "grpc.max_receive_message_length", Value: int64(512)}))
	_, err = dial(t, target2).UnaryUnary("/test.O/Echo").Call(make([]byte, 4096), grpc.WithTimeout(testTimeout))
	rpcErr(t, err, grpc.StatusCodeResourceExhausted)

	if _, err := grpc.InsecureChannel(target, grpc.ChannelOption{Key: "k", Value: 1.5}); err == nil {
		t.Fatal("a float channel option was accepted")
	}
	if _, err := grpc.NewServer(nil, grpc.WithOptions(grpc.ChannelOption{Key: "k", Value: []int{1}})); err == nil {
		t.Fatal("a slice server option was accepted")
	}
}

func TestWaitForReady(t *testing.T) {
	leakcheck.Check(t)
	// A port nobody listens on: take one from the kernel and release it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := l.Addr().String()
	l.Close()
	ch := dial(t, target)
	mc := ch.UnaryUnary("/test.W/Echo")
	_, err = mc.Call([]byte("x"), grpc.WithTimeout(testTimeout))
	rpcErr(t, err, grpc.StatusCodeUnavailable) // fail fast by default
	start := time.Now()
	_, err = mc.Call([]byte("x"), grpc.WithTimeout(300*time.Millisecond), grpc.WithWaitForReady(true))
	rpcErr(t, err, grpc.StatusCodeDeadlineExceeded)
	if time.Since(start) < 250*time.Millisecond {
		t.Fatal("wait_for_ready call did not wait")
	}
}

func TestPeerAndAuthContextOnPlaintext(t *testing.T) {
	leakcheck.Check(t)
	type info struct {
		peer  string
		key   string
		ids   []string
		props map[string][]string
	}
	got := make(chan info, 1)
	methods := map[string]*grpc.RpcMethodHandler{
		"Who": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			got <- info{ctx.Peer(), ctx.PeerIdentityKey(), ctx.PeerIdentities(), ctx.AuthContext()}
			return req, nil
		}),
	}
	_, target := serve(t, nil, service("test.A", methods))
	if _, err := dial(t, target).UnaryUnary("/test.A/Who").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
		t.Fatal(err)
	}
	i := <-got
	if !strings.HasPrefix(i.peer, "ipv4:127.0.0.1:") {
		t.Fatalf("peer = %q", i.peer)
	}
	if i.key != "" || i.ids != nil {
		t.Fatalf("plaintext call has identity %q %v", i.key, i.ids)
	}
	if i.props == nil {
		t.Fatal("AuthContext returned nil")
	}
	if v := i.props["transport_security_type"]; len(v) > 0 && v[0] != "insecure" {
		t.Fatalf("transport_security_type = %v", v)
	}
}

// threads reads this process's OS thread count.
func threads(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads: line")
	return 0
}

// TestThousandConcurrentCallsKeepThreadsBounded holds 1,000 blocking unary
// calls in flight at once (client and server in this process) and checks
// that the OS thread count stays small: waiting RPCs wait on Go channels,
// not in C.
func TestThousandConcurrentCallsKeepThreadsBounded(t *testing.T) {
	leakcheck.Check(t)
	const n = 1000
	var arrived atomic.Int64
	all := make(chan struct{})
	release := make(chan struct{})
	methods := map[string]*grpc.RpcMethodHandler{
		"Hold": gate(release, func() {
			if arrived.Add(1) == n {
				close(all)
			}
		}),
	}
	_, target := serve(t, nil, service("test.H", methods))
	ch := dial(t, target)
	mc := ch.UnaryUnary("/test.H/Hold")
	before := threads(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := mc.Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
				errs <- err
			}
		}()
	}
	select {
	case <-all:
	case <-time.After(testTimeout):
		close(release)
		wg.Wait()
		t.Fatalf("only %d of %d calls reached the server", arrived.Load(), n)
	}
	during := threads(t)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("call failed: %v", err)
	}
	t.Logf("OS threads: %d before, %d with %d calls in flight", before, during, n)
	if during > 64 {
		t.Fatalf("%d OS threads with %d calls in flight; want a bounded count (<= 64)", during, n)
	}
	fmt.Fprintf(os.Stderr, "THREADS at %d concurrent calls: %d (before: %d)\n", n, during, before)
}
