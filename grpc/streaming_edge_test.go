package grpc_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
	"github.com/grpcpy/grpcpy/internal/leakcheck"
)

func streamServer(t *testing.T) (*grpc.Channel, *atomic.Value) {
	var lastErr atomic.Value // the error the server's request iterator reported
	methods := map[string]*grpc.RpcMethodHandler{
		// Count counts requests until the client half-closes.
		"Count": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			n := 0
			for _, err := range reqs {
				if err != nil {
					lastErr.Store(err)
					return nil, err
				}
				n++
			}
			return []byte(strconv.Itoa(n)), nil
		}),
		// CountWatch reads its requests, then reports how the RPC ended: an
		// error from the request iterator, or (the core reports a client's
		// cancel and its end of stream independently) the RPC terminating
		// before this handler sent a status.
		"CountWatch": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			for _, err := range reqs {
				if err != nil {
					lastErr.Store(err)
					return nil, err
				}
			}
			select {
			case <-ctx.Context().Done():
				lastErr.Store(ctx.Context().Err())
			case <-time.After(testTimeout):
			}
			return []byte("done"), nil
		}),
		// Ignore returns at once, never reading its requests.
		"Ignore": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			return []byte("ignored"), nil
		}),
		// Echo echoes each request, and its count at the end.
		"Echo": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for r, err := range reqs {
					if err != nil {
						lastErr.Store(err)
						return
					}
					if !yield(r, nil) {
						return
					}
				}
			}
		}),
		// Range streams n responses (n from the request), then OK.
		"Range": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			n, _ := strconv.Atoi(string(req.([]byte)))
			return func(yield func(any, error) bool) {
				for i := 0; i < n; i++ {
					if !yield([]byte(strconv.Itoa(i)), nil) {
						return
					}
				}
			}
		}),
		// SelfCancel sends two responses then cancels the RPC from the server.
		"SelfCancel": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				yield([]byte("1"), nil)
				yield([]byte("2"), nil)
				ctx.Cancel()
				<-ctx.Context().Done()
			}
		}),
		// Slow streams one response every 50ms until the RPC ends.
		"Slow": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for i := 0; ; i++ {
					select {
					case <-ctx.Context().Done():
						return
					case <-time.After(50 * time.Millisecond):
					}
					if !yield([]byte(strconv.Itoa(i)), nil) {
						return
					}
				}
			}
		}),
		// FailMidStream yields one response then an error.
		"FailMidStream": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				if yield([]byte("first"), nil) {
					yield(nil, errors.New("disk on fire"))
				}
			}
		}),
	}
	_, target := serve(t, nil, service("test.St", methods))
	return dial(t, target), &lastErr
}

func TestStreamingEdges(t *testing.T) {
	leakcheck.Check(t)
	ch, lastErr := streamServer(t)
	timeout := grpc.WithTimeout(testTimeout)

	t.Run("half-close ends the request stream", func(t *testing.T) {
		var reqs []any
		for i := 0; i < 100; i++ {
			reqs = append(reqs, []byte("x"))
		}
		resp, err := ch.StreamUnary("/test.St/Count").Call(grpc.Requests(reqs...), timeout)
		if err != nil || string(resp.([]byte)) != "100" {
			t.Fatalf("%v %v", resp, err)
		}
	})
	t.Run("empty request stream", func(t *testing.T) {
		resp, err := ch.StreamUnary("/test.St/Count").Call(grpc.Requests[any](), timeout)
		if err != nil || string(resp.([]byte)) != "0" {
			t.Fatalf("%v %v", resp, err)
		}
		it, err := ch.StreamStream("/test.St/Echo").Call(nil, timeout)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := it.Next(); v != nil || err == nil || it.Code() != grpc.StatusCodeOK {
			t.Fatalf("empty bidi stream: %v %v %v", v, err, it.Code())
		}
	})
	t.Run("empty response stream", func(t *testing.T) {
		it, err := ch.UnaryStream("/test.St/Range").Call([]byte("0"), timeout)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, err := range it.All() {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 0 || it.Code() != grpc.StatusCodeOK {
			t.Fatalf("%d responses, %v", n, it.Code())
		}
	})
	t.Run("many responses in order", func(t *testing.T) {
		it, err := ch.UnaryStream("/test.St/Range").Call([]byte("1000"), timeout)
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for r, err := range it.All() {
			if err != nil {
				t.Fatal(err)
			}
			if string(r.([]byte)) != strconv.Itoa(i) {
				t.Fatalf("response %d is %s", i, r)
			}
			i++
		}
		if i != 1000 {
			t.Fatalf("%d responses", i)
		}
	})
	t.Run("request iterator error ends the RPC on both sides", func(t *testing.T) {
		failing := func(yield func(any, error) bool) {
			if yield([]byte("one"), nil) {
				yield(nil, errors.New("source broke"))
			}
		}
		_, err := ch.StreamUnary("/test.St/CountWatch").Call(failing, timeout)
		if r := rpcErr(t, err, grpc.StatusCodeUnknown); r.Details() != "Exception iterating requests!" {
			t.Fatalf("details %q", r.Details())
		}
		waitFor(t, "the server to see the RPC end", func() bool { return lastErr.Load() != nil })
		panicking := func(yield func(any, error) bool) {
			yield([]byte("one"), nil)
			panic("iterator panic")
		}
		it, err := ch.StreamStream("/test.St/Echo").Call(panicking, timeout)
		if err != nil {
			t.Fatal(err)
		}
		for range it.All() {
		}
		if it.Code() != grpc.StatusCodeUnknown || it.Details() != "Exception iterating requests!" {
			t.Fatalf("%v %q", it.Code(), it.Details())
		}
	})
	t.Run("request serializer failure", func(t *testing.T) {
		_, err := ch.StreamUnary("/test.St/Count", grpc.WithRequestSerializer(failingSerializer)).
			Call(grpc.Requests[any]([]byte("x")), timeout)
		if r := rpcErr(t, err, grpc.StatusCodeInternal); r.Details() != "Exception serializing request!" {
			t.Fatalf("details %q", r.Details())
		}
	})
	t.Run("a handler that ignores its requests still finishes", func(t *testing.T) {
		endless := func(yield func(any, error) bool) {
			for yield(make([]byte, 1024), nil) {
			}
		}
		resp, err := ch.StreamUnary("/test.St/Ignore").Call(endless, timeout)
		if err != nil || string(resp.([]byte)) != "ignored" {
			t.Fatalf("%v %v", resp, err)
		}
	})
	t.Run("error while iterating responses", func(t *testing.T) {
		it, err := ch.UnaryStream("/test.St/FailMidStream").Call([]byte("x"), timeout)
		if err != nil {
			t.Fatal(err)
		}
		first, err := it.Next()
		if err != nil || string(first.([]byte)) != "first" {
			t.Fatalf("first: %v %v", first, err)
		}
		_, err = it.Next()
		if r := rpcErr(t, err, grpc.StatusCodeUnknown); r.Details() != "Exception iterating responses: disk on fire" {
			t.Fatalf("details %q", r.Details())
		}
		if _, again := it.Next(); again != err {
			t.Fatal("Next after the end returned a different error")
		}
	})
	t.Run("server cancels mid-stream", func(t *testing.T) {
		it, err := ch.UnaryStream("/test.St/SelfCancel").Call([]byte("x"), timeout)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var last error
		for r, err := range it.All() {
			if err != nil {
				last = err
				break
			}
			got = append(got, string(r.([]byte)))
		}
		rpcErr(t, last, grpc.StatusCodeCancelled)
		if fmt.Sprint(got) != "[1 2]" {
			t.Fatalf("got %v before the cancel", got)
		}
	})
	t.Run("deadline mid-stream", func(t *testing.T) {
		it, err := ch.UnaryStream("/test.St/Slow").Call([]byte("x"), grpc.WithTimeout(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		var last error
		for _, err := range it.All() {
			if err != nil {
				last = err
				break
			}
			n++
		}
		rpcErr(t, last, grpc.StatusCodeDeadlineExceeded)
		if n == 0 {
			t.Fatal("no response arrived before the deadline")
		}
	})
	t.Run("client cancels mid-stream; breaking out of range cancels", func(t *testing.T) {
		it, err := ch.UnaryStream("/test.St/Slow").Call([]byte("x"), timeout)
		if err != nil {
			t.Fatal(err)
		}
		for range it.All() {
			break
		}
		if it.Code() != grpc.StatusCodeCancelled {
			t.Fatalf("after break: %v", it.Code())
		}
		if _, err := it.Next(); err == nil {
			t.Fatal("Next after cancel returned no error")
		}
	})
	t.Run("a context cancels a stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		it, err := ch.StreamStream("/test.St/Echo").Call(func(yield func(any, error) bool) {
			for yield([]byte("x"), nil) {
				time.Sleep(10 * time.Millisecond) // pacing: an endless stream, not a flood
			}
		}, grpc.WithContext(ctx), timeout)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
		cancel()
		for _, err := range it.All() {
			if err != nil {
				rpcErr(t, err, grpc.StatusCodeCancelled)
			}
		}
		if it.Code() != grpc.StatusCodeCancelled {
			t.Fatalf("after the context was cancelled: %v", it.Code())
		}
	})
	t.Run("initial metadata of a stream arrives before the end", func(t *testing.T) {
		it, err := ch.UnaryStream("/test.St/Slow").Call([]byte("x"), timeout)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { it.InitialMetadata(); close(done) }()
		select {
		case <-done:
		case <-time.After(testTimeout):
			t.Fatal("InitialMetadata blocked while the stream runs")
		}
		it.Cancel()
	})
	// Last: it closes the channel.
	t.Run("closing the channel ends active streams with CANCELLED", func(t *testing.T) {
		it, err := ch.UnaryStream("/test.St/Slow").Call([]byte("x"), timeout)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
		ch.Close()
		var last error
		for _, err := range it.All() {
			last = err
		}
		if r := rpcErr(t, last, grpc.StatusCodeCancelled); r.Details() != "Channel closed!" {
			t.Fatalf("details %q", r.Details())
		}
	})
}

// TestStreamUnaryInitialMetadataBeforeResponse: a stream-unary future's
// initial metadata is known as soon as the server sends it, while the
// requests still flow (grpcio receives it in a batch of its own; it came
// only with the response before, which grpc/testing's port of grpcio's
// test_infinite_request_stream showed).
func TestStreamUnaryInitialMetadataBeforeResponse(t *testing.T) {
	release := make(chan struct{})
	_, addr := serve(t, nil, service("test.Edge", map[string]*grpc.RpcMethodHandler{
		"Sum": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			if err := ctx.SendInitialMetadata(grpc.Metadata{{Key: "early", Value: "yes"}}); err != nil {
				return nil, err
			}
			<-release
			for _, err := range reqs {
				if err != nil {
					return nil, err
				}
			}
			return []byte("done"), nil
		}),
	}))
	ch := dial(t, addr)
	requests := make(chan []byte)
	f, err := ch.StreamUnary("/test.Edge/Sum").Future(func(yield func(any, error) bool) {
		for r := range requests {
			if !yield(r, nil) {
				return
			}
		}
	}, grpc.WithTimeout(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan grpc.Metadata, 1)
	go func() { got <- f.InitialMetadata() }()
	select {
	case md := <-got:
		if len(md) == 0 || md[0] != (grpc.Metadatum{Key: "early", Value: "yes"}) {
			t.Errorf("initial metadata %v", md)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("initial metadata not known before the response")
	}
	close(release)
	close(requests)
	if resp, err := f.Result(); err != nil || string(resp.([]byte)) != "done" {
		t.Errorf("result %v %v", resp, err)
	}
}
