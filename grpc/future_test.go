package grpc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

// gate is a handler that runs onEnter (if given), then blocks until
// released or the RPC ends.
func gate(release <-chan struct{}, onEnter ...func()) *grpc.RpcMethodHandler {
	return grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
		for _, f := range onEnter {
			f()
		}
		select {
		case <-release:
		case <-ctx.Context().Done():
		}
		return req, nil
	})
}

func TestFuture(t *testing.T) {
	leakcheck.Check(t)
	release := make(chan struct{})
	hold := make(chan struct{}) // never released before the test ends
	defer close(hold)
	methods := map[string]*grpc.RpcMethodHandler{
		"Echo": echoHandler(),
		"Gate": gate(release),
		"Hold": gate(hold),
		"Fail": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.Abort(grpc.StatusCodeDataLoss, "gone")
			return nil, nil
		}),
	}
	_, target := serve(t, nil, service("test.F", methods))
	ch := dial(t, target)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	t.Run("result, running, done and callbacks", func(t *testing.T) {
		f, err := ch.UnaryUnary("/test.F/Gate").Future([]byte("v"), grpc.WithTimeout(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		if !f.Running() || f.Done() || f.Cancelled() || !f.IsActive() {
			t.Fatalf("pending future: running=%v done=%v cancelled=%v", f.Running(), f.Done(), f.Cancelled())
		}
		if _, err := f.Result(50 * time.Millisecond); !errors.As(err, &grpc.FutureTimeoutError{}) {
			t.Fatalf("Result(50ms) on a pending RPC: %v, want FutureTimeoutError", err)
		}
		if _, err := f.Exception(0); !errors.Is(err, grpc.FutureTimeoutError{}) {
			t.Fatalf("Exception(0): %v, want FutureTimeoutError", err)
		}
		var mu sync.Mutex
		var order []string
		done := make(chan grpc.Future, 1)
		f.AddDoneCallback(func(g grpc.Future) { mu.Lock(); order = append(order, "done"); mu.Unlock(); done <- g })
		if !f.AddCallback(func() { mu.Lock(); order = append(order, "rpc"); mu.Unlock() }) {
			t.Fatal("AddCallback on a running RPC returned false")
		}
		close(release)
		v, err := f.Result()
		if err != nil || string(v.([]byte)) != "v" {
			t.Fatalf("Result: %v %v", v, err)
		}
		select {
		case g := <-done:
			if !g.Done() {
				t.Fatal("done callback saw an unfinished future")
			}
		case <-time.After(testTimeout):
			t.Fatal("done callback never ran")
		}
		mu.Lock()
		if strings.Join(order, ",") != "rpc,done" {
			t.Fatalf("callback order %v", order)
		}
		mu.Unlock()
		if exc, err := f.Exception(); exc != nil || err != nil {
			t.Fatalf("Exception of a success: %v %v", exc, err)
		}
		if tb, err := f.Traceback(); tb != "" || err != nil {
			t.Fatalf("Traceback of a success: %q %v", tb, err)
		}
		// Already done: the callback runs at once, on this goroutine.
		ran := false
		f.AddDoneCallback(func(grpc.Future) { ran = true })
		if !ran {
			t.Fatal("AddDoneCallback on a done future did not run immediately")
		}
		if f.AddCallback(func() {}) {
			t.Fatal("AddCallback on a finished RPC returned true")
		}
		if f.Cancel() {
			t.Fatal("Cancel of a finished RPC returned true")
		}
		if f.Code() != grpc.StatusCodeOK || f.Running() || !f.Done() {
			t.Fatalf("finished: code=%v running=%v", f.Code(), f.Running())
		}
	})

	t.Run("exception is the RpcError", func(t *testing.T) {
		f, err := ch.UnaryUnary("/test.F/Fail").Future([]byte("v"), grpc.WithTimeout(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		exc, err := f.Exception(testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		rpcErr(t, exc, grpc.StatusCodeDataLoss)
		_, rerr := f.Result()
		if rerr != exc {
			t.Fatalf("Result error %v is not the same as Exception %v", rerr, exc)
		}
		if f.Code() != grpc.StatusCodeDataLoss || f.Details() != "gone" {
			t.Fatalf("Call view: %v %q", f.Code(), f.Details())
		}
		if tb, _ := f.Traceback(); tb == "" {
			t.Fatal("Traceback of a failure is empty")
		}
	})

	t.Run("cancel cancels the RPC without blocking", func(t *testing.T) {
		f, err := ch.UnaryUnary("/test.F/Hold").Future([]byte("v"))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if !f.Cancel() {
			t.Fatal("Cancel of a running RPC returned false")
		}
		if time.Since(start) > time.Second {
			t.Fatal("Cancel blocked")
		}
		if !f.Cancelled() || !f.Done() {
			t.Fatalf("after Cancel: cancelled=%v done=%v", f.Cancelled(), f.Done())
		}
		if _, err := f.Result(); !errors.As(err, &grpc.FutureCancelledError{}) {
			t.Fatalf("Result after Cancel: %v, want FutureCancelledError", err)
		}
		if _, err := f.Exception(); !errors.Is(err, grpc.FutureCancelledError{}) {
			t.Fatalf("Exception after Cancel: %v", err)
		}
		if _, err := f.Traceback(); !errors.Is(err, grpc.FutureCancelledError{}) {
			t.Fatalf("Traceback after Cancel: %v", err)
		}
		if f.Code() != grpc.StatusCodeCancelled || f.Details() != "Locally cancelled by application!" {
			t.Fatalf("cancelled call: %v %q", f.Code(), f.Details())
		}
		if f.Cancel() {
			t.Fatal("second Cancel returned true")
		}
	})
}

func TestContextOption(t *testing.T) {
	leakcheck.Check(t)
	release := make(chan struct{})
	defer close(release)
	_, target := serve(t, nil, service("test.X", map[string]*grpc.RpcMethodHandler{"Gate": gate(release)}))
	ch := dial(t, target)
	mc := ch.UnaryUnary("/test.X/Gate")

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := mc.Call([]byte("x"), grpc.WithContext(ctx), grpc.WithTimeout(testTimeout))
	rpcErr(t, err, grpc.StatusCodeCancelled)

	dctx, dcancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer dcancel()
	_, call, err := mc.WithCall([]byte("x"), grpc.WithContext(dctx))
	rpcErr(t, err, grpc.StatusCodeDeadlineExceeded)
	if call == nil {
		t.Fatal("WithCall returned no Call with its RpcError")
	}

	_, err = mc.Call([]byte("x"), grpc.WithContext(ctx)) // already cancelled
	rpcErr(t, err, grpc.StatusCodeCancelled)
}

func TestCallCancelFromClientSeenByServer(t *testing.T) {
	leakcheck.Check(t)
	callbackRan := make(chan struct{})
	entered := make(chan struct{})
	methods := map[string]*grpc.RpcMethodHandler{
		"Wait": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.AddCallback(func() { close(callbackRan) })
			close(entered)
			<-ctx.Context().Done()
			if ctx.IsActive() {
				t.Error("IsActive true after the client cancelled")
			}
			return req, nil
		}),
		"SelfCancel": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.Cancel()
			<-ctx.Context().Done()
			return req, nil
		}),
	}
	_, target := serve(t, nil, service("test.K", methods))
	ch := dial(t, target)
	f, err := ch.UnaryUnary("/test.K/Wait").Future([]byte("x"), grpc.WithTimeout(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("handler never ran")
	}
	f.Cancel()
	select {
	case <-callbackRan:
	case <-time.After(testTimeout):
		t.Fatal("server-side add_callback did not run after the client cancelled")
	}
	_, err = ch.UnaryUnary("/test.K/SelfCancel").Call([]byte("x"), grpc.WithTimeout(testTimeout))
	rpcErr(t, err, grpc.StatusCodeCancelled)
}
