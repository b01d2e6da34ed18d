package grpc_test

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// recorder collects the states a subscription sees.
type recorder struct {
	mu     sync.Mutex
	states []grpc.ChannelConnectivity
	cond   *sync.Cond
}

func newRecorder() *recorder {
	r := &recorder{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) record(s grpc.ChannelConnectivity) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
	r.cond.Broadcast()
}

// waitFor waits until state has been seen at or after index from, and
// returns the index after it.
func (r *recorder) waitFor(t *testing.T, from int, want ...grpc.ChannelConnectivity) int {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	timer := time.AfterFunc(testTimeout, r.cond.Broadcast)
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		for i := from; i < len(r.states); i++ {
			for _, w := range want {
				if r.states[i] == w {
					return i + 1
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %v; states: %v", want, r.states)
		}
		r.cond.Wait()
	}
}

func (r *recorder) snapshot() []grpc.ChannelConnectivity {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]grpc.ChannelConnectivity(nil), r.states...)
}

// freePort reserves a port from the kernel and releases it.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startOn(t *testing.T, addr string) *grpc.Server {
	t.Helper()
	s, err := grpc.NewServer(nil, grpc.WithHandlers(service("test.Conn",
		map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()})...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddInsecurePort(addr); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// fastReconnect makes the channel retry within ~100ms instead of the
// core's default 1s backoff, so the test is quick.
var fastReconnect = []grpc.ChannelOption{
	{Key: "grpc.initial_reconnect_backoff_ms", Value: 100},
	{Key: "grpc.min_reconnect_backoff_ms", Value: 100},
	{Key: "grpc.max_reconnect_backoff_ms", Value: 200},
}

func TestConnectivityLifecycle(t *testing.T) {
	leakcheck.Check(t)
	addr := freePort(t)
	ch, err := grpc.InsecureChannel(addr, fastReconnect...)
	if err != nil {
		t.Fatal(err)
	}
	idle := newRecorder()
	idleSub := ch.Subscribe(idle.record, false) // no connecting on its own
	if got := idle.waitFor(t, 0, grpc.ChannelConnectivityIdle); got != 1 {
		t.Fatalf("first state of a new channel: %v", idle.snapshot())
	}

	rec := newRecorder()
	ch.Subscribe(rec.record, true)
	i := rec.waitFor(t, 0, grpc.ChannelConnectivityIdle, grpc.ChannelConnectivityConnecting)
	i = rec.waitFor(t, i, grpc.ChannelConnectivityTransientFailure) // nobody listens yet

	server := startOn(t, addr) // started late
	i = rec.waitFor(t, i, grpc.ChannelConnectivityReady)
	if _, err := ch.UnaryUnary("/test.Conn/Echo").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
		t.Fatalf("RPC once READY: %v", err)
	}

	server.Stop(grpc.NoGrace) // stopped
	i = rec.waitFor(t, i, grpc.ChannelConnectivityTransientFailure, grpc.ChannelConnectivityIdle)

	server = startOn(t, addr) // restarted on the same port
	defer server.Stop(grpc.NoGrace)
	i = rec.waitFor(t, i, grpc.ChannelConnectivityReady)

	// Unsubscribed callbacks are not called again.
	ch.Unsubscribe(idleSub)
	before := len(idle.snapshot())

	ch.Close()
	rec.waitFor(t, i, grpc.ChannelConnectivityShutdown)
	t.Logf("states seen: %v", rec.snapshot())

	// Subscribing to a closed channel reports SHUTDOWN at once.
	late := newRecorder()
	ch.Subscribe(late.record, false)
	late.waitFor(t, 0, grpc.ChannelConnectivityShutdown)

	// Callbacks run in order on one delivery queue, so once the late
	// subscriber has seen SHUTDOWN (queued after everything Close and any
	// earlier change queued) no delivery that could reach idle is left.
	if after := idle.snapshot(); len(after) != before {
		t.Fatalf("unsubscribed callback was called: %v", after[before:])
	}
}

func TestChannelReadyFuture(t *testing.T) {
	leakcheck.Check(t)
	addr := freePort(t)
	ch := dial(t, addr, fastReconnect...)

	f := grpc.ChannelReadyFuture(ch)
	if _, err := f.Result(200 * time.Millisecond); !errors.As(err, &grpc.FutureTimeoutError{}) {
		t.Fatalf("Result with no server: %v, want FutureTimeoutError", err)
	}
	cancelled := grpc.ChannelReadyFuture(ch)
	if !cancelled.Cancel() || !cancelled.Cancelled() {
		t.Fatal("Cancel of a pending ready future failed")
	}
	if _, err := cancelled.Result(); !errors.As(err, &grpc.FutureCancelledError{}) {
		t.Fatalf("Result after Cancel: %v", err)
	}

	server := startOn(t, addr)
	defer server.Stop(grpc.NoGrace)
	v, err := f.Result(testTimeout)
	if err != nil || v != nil {
		t.Fatalf("ready future: %v, %v (want nil, nil as in grpcio)", v, err)
	}
	if !f.Done() || f.Running() || f.Cancelled() {
		t.Fatal("ready future state")
	}
	called := make(chan bool, 1)
	f.AddDoneCallback(func(g grpc.Future) { called <- g.Done() })
	if !<-called {
		t.Fatal("done callback saw an unfinished future")
	}
	// The cancelled future did not disturb the channel: it is READY.
	again := grpc.ChannelReadyFuture(ch)
	if _, err := again.Result(testTimeout); err != nil {
		t.Fatalf("channel not ready after a cancelled ready future: %v", err)
	}
}

func TestConnectivityStrings(t *testing.T) {
	got := fmt.Sprint(grpc.ChannelConnectivityTransientFailure)
	if got != "ChannelConnectivity.TRANSIENT_FAILURE" {
		t.Fatal(got)
	}
}
