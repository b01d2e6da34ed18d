package grpc_test

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

// Frictions found porting grpcio's examples, each as a test.

func TestThreadPoolExecutorDefaultsAndInvalidSizes(t *testing.T) {
	if got, want := grpc.NewThreadPoolExecutor().MaxWorkers(), min(32, runtime.NumCPU()+4); got != want {
		t.Fatalf("ThreadPoolExecutor() has %d workers, want Python's min(32, cpus+4) = %d", got, want)
	}
	if got := grpc.NewThreadPoolExecutor(10).MaxWorkers(); got != 10 {
		t.Fatalf("ThreadPoolExecutor(10) has %d workers", got)
	}
	for _, n := range [][]int{{0}, {-3}, {1, 2}} {
		e := grpc.NewThreadPoolExecutor(n...)
		var ve *grpc.ValueError
		if err := e.Submit(func() { t.Error("ran work on an invalid executor") }); !errors.As(err, &ve) {
			t.Fatalf("ThreadPoolExecutor(%v).Submit: %v, want *grpc.ValueError", n, err)
		}
		if _, err := grpc.NewServer(e); !errors.As(err, &ve) {
			t.Fatalf("NewServer(ThreadPoolExecutor(%v)): %v, want *grpc.ValueError", n, err)
		}
	}
	if !strings.Contains(grpc.NewThreadPoolExecutor(0).Submit(func() {}).Error(), "max_workers must be greater than 0") {
		t.Fatal("not Python's message")
	}
}

// userAgentServer records the user-agent of each call.
func userAgentServer(t *testing.T) (string, func() string) {
	var mu sync.Mutex
	var last string
	_, target := serve(t, nil, service("test.UA", map[string]*grpc.RpcMethodHandler{
		"Echo": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			for _, m := range ctx.InvocationMetadata() {
				if m.Key == "user-agent" {
					mu.Lock()
					last = m.Value
					mu.Unlock()
				}
			}
			return req, nil
		}),
	}))
	return target, func() string { mu.Lock(); defer mu.Unlock(); return last }
}

// TestUserAgentLikeGrpcio: grpcio 1.51 sends "grpc-python/1.51.1 grpc-c/29.0.0
// (linux; chttp2)", with a caller's grpc.primary_user_agent before its own
// ("foo/1 grpc-python/..."); grpcpy sends grpcpy/<Version> in the same place.
func TestUserAgentLikeGrpcio(t *testing.T) {
	target, last := userAgentServer(t)
	for _, c := range []struct {
		opts   []grpc.ChannelOption
		prefix string
	}{
		{nil, "grpcpy/" + grpc.Version + " grpc-c/"},
		{[]grpc.ChannelOption{grpc.Option("grpc.primary_user_agent", "foo/1")}, "foo/1 grpcpy/" + grpc.Version + " grpc-c/"},
	} {
		ch := dial(t, target, c.opts...)
		if _, err := ch.UnaryUnary("/test.UA/Echo").Call([]byte("x"), grpc.WithTimeout(testTimeout)); err != nil {
			t.Fatal(err)
		}
		if ua := last(); !strings.HasPrefix(ua, c.prefix) {
			t.Errorf("user-agent %q, want it to start with %q", ua, c.prefix)
		}
	}
}

func TestOptionReadsLikeAPythonTuple(t *testing.T) {
	if o := grpc.Option("grpc.max_receive_message_length", 1024); o != (grpc.ChannelOption{Key: "grpc.max_receive_message_length", Value: 1024}) {
		t.Fatalf("Option = %+v", o)
	}
	_, target := serve(t, nil, service("test.O", map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()}))
	ch := dial(t, target, grpc.Option("grpc.max_receive_message_length", 1024))
	_, err := ch.UnaryUnary("/test.O/Echo").Call(make([]byte, 4096), grpc.WithTimeout(testTimeout))
	var rpcErr *grpc.RpcError
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeResourceExhausted {
		t.Fatalf("a 4 KiB response over a 1 KiB limit: %v", err)
	}
	want := `<RpcError of RPC that terminated with: status = StatusCode.RESOURCE_EXHAUSTED, details = "`
	if !strings.HasPrefix(rpcErr.Error(), want) || !strings.HasSuffix(rpcErr.Error(), ">") {
		t.Fatalf("RpcError reads %q, want grpcio's shape %s...>", rpcErr.Error(), want)
	}
}

// plainFuture is a bare Future, as an interceptor might build from its
// own machinery.
type plainFuture struct {
	done chan struct{}
	v    any
	err  error
}

func (f *plainFuture) Cancel() bool    { return false }
func (f *plainFuture) Cancelled() bool { return false }
func (f *plainFuture) Running() bool   { return !f.Done() }
func (f *plainFuture) Done() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}
func (f *plainFuture) Result(...time.Duration) (any, error) { <-f.done; return f.v, f.err }
func (f *plainFuture) Exception(...time.Duration) (error, error) {
	<-f.done
	return f.err, nil
}
func (f *plainFuture) Traceback(...time.Duration) (string, error) { return "", nil }
func (f *plainFuture) AddDoneCallback(fn func(grpc.Future)) {
	go func() { <-f.done; fn(f) }()
}

// TestInterceptorAnsweringWithAPlainFuture: grpc.AsCallFuture adapts a
// bare Future to what an interceptor returns.
func TestInterceptorAnsweringWithAPlainFuture(t *testing.T) {
	_, target := serve(t, nil, service("test.O", map[string]*grpc.RpcMethodHandler{"Echo": echoHandler()}))
	cached := &plainFuture{done: make(chan struct{}), v: []byte("cached")}
	close(cached.done)
	failed := &plainFuture{done: make(chan struct{}), err: errors.New("cache broken")}
	close(failed.done)
	ch, err := grpc.InterceptChannel(dial(t, target), grpc.UnaryUnaryClientInterceptorFunc(
		func(cont grpc.UnaryUnaryContinuation, d *grpc.ClientCallDetails, req any) (grpc.CallFuture, error) {
			switch string(req.([]byte)) {
			case "hit":
				return grpc.AsCallFuture(cached), nil
			case "broken":
				return grpc.AsCallFuture(failed), nil
			}
			return cont(d, req)
		}))
	if err != nil {
		t.Fatal(err)
	}
	mc := ch.UnaryUnary("/test.O/Echo")
	resp, call, err := mc.WithCall([]byte("hit"), grpc.WithTimeout(testTimeout))
	if err != nil || string(resp.([]byte)) != "cached" || call.Code() != grpc.StatusCodeOK {
		t.Fatalf("cached answer: %q, %v", resp, err)
	}
	if resp, err := mc.Call([]byte("miss"), grpc.WithTimeout(testTimeout)); err != nil || string(resp.([]byte)) != "miss" {
		t.Fatalf("through the wire: %q, %v", resp, err)
	}
	f, err := mc.Future([]byte("broken"), grpc.WithTimeout(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	if f.Code() != grpc.StatusCodeUnknown || f.Details() != "cache broken" {
		t.Fatalf("a failed plain future reads as %v %q", f.Code(), f.Details())
	}
}
