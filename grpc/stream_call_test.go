package grpc_test

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

// openServer serves the stream-stream methods TestStreamStreamOpen drives:
// Echo (each request back, OK at half-close), FailAfterOne (echo one, then
// NOT_FOUND "gone"), OkEarly (OK at once, nothing read) and Hang (reads
// until the RPC ends, never answers).
func openServer(t *testing.T) string {
	_, target := serve(t, nil, service("test.Open", map[string]*grpc.RpcMethodHandler{
		"Echo": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], _ *grpc.ServicerContext) iter.Seq2[any, error] {
			return reqs
		}),
		"FailAfterOne": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for r, err := range reqs {
					if err == nil {
						yield(r, nil)
					}
					break
				}
				ctx.SetCode(grpc.StatusCodeNotFound)
				ctx.SetDetails("gone")
			}
		}),
		"OkEarly": grpc.StreamStreamRpcMethodHandler(func(iter.Seq2[any, error], *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(func(any, error) bool) {}
		}),
		"Hang": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], _ *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(func(any, error) bool) {
				for _, err := range reqs {
					if err != nil {
						return
					}
				}
			}
		}),
	}))
	return target
}

// writeUntilError writes until Write fails (the RPC has ended), bounded.
func writeUntilError(t *testing.T, c *grpc.StreamStreamCall) error {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := c.Write([]byte(fmt.Sprint(i))); err != nil {
			return err
		}
	}
	t.Fatalf("Write still succeeding after %v", testTimeout)
	return nil
}

func TestStreamStreamOpen(t *testing.T) {
	target := openServer(t)
	var passed atomic.Int64 // requests seen by the interceptor
	counting := grpc.StreamStreamClientInterceptorFunc(func(cont grpc.StreamStreamContinuation, d *grpc.ClientCallDetails, reqs iter.Seq2[any, error]) (grpc.CallIterator, error) {
		return cont(d, func(yield func(any, error) bool) {
			for r, err := range reqs {
				passed.Add(1)
				if !yield(r, err) {
					return
				}
			}
		})
	})
	plain := dial(t, target)
	intercepted, err := grpc.InterceptChannel(dial(t, target), counting)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		ch   *grpc.Channel
	}{{"direct", plain}, {"interceptor", intercepted}} {
		ch := tc.ch
		open := func(t *testing.T, method string, opts ...grpc.CallOption) *grpc.StreamStreamCall {
			t.Helper()
			c, err := ch.StreamStream("/test.Open/" + method).Open(append([]grpc.CallOption{grpc.WithTimeout(testTimeout)}, opts...)...)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return c
		}
		t.Run(tc.name+"/ping-pong then half-close", func(t *testing.T) {
			before := passed.Load()
			c := open(t, "Echo")
			for i := range 100 {
				want := fmt.Sprintf("m%d", i)
				if err := c.Write([]byte(want)); err != nil {
					t.Fatalf("Write %d: %v", i, err)
				}
				got, err := c.Read()
				if err != nil || string(got.([]byte)) != want {
					t.Fatalf("Read %d = %q, %v; want %q", i, got, err, want)
				}
			}
			if err := c.DoneWriting(); err != nil {
				t.Fatalf("DoneWriting: %v", err)
			}
			if err := c.DoneWriting(); err != nil {
				t.Fatalf("second DoneWriting: %v", err)
			}
			if err := c.Write([]byte("late")); !errors.Is(err, grpc.ErrDoneWriting) {
				t.Fatalf("Write after DoneWriting = %v, want ErrDoneWriting", err)
			}
			if got, err := c.Read(); err != io.EOF {
				t.Fatalf("Read at the end = %v, %v; want io.EOF", got, err)
			}
			if c.Code() != grpc.StatusCodeOK {
				t.Fatalf("Code = %v", c.Code())
			}
			if tc.ch == intercepted && passed.Load()-before != 100 {
				t.Fatalf("the interceptor saw %d requests, want 100", passed.Load()-before)
			}
		})
		t.Run(tc.name+"/writer and reader goroutines", func(t *testing.T) {
			c := open(t, "Echo")
			const n = 300
			var wg sync.WaitGroup
			var werr error
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range n {
					if werr = c.Write([]byte(fmt.Sprint(i))); werr != nil {
						return
					}
				}
				werr = c.DoneWriting()
			}()
			count := 0
			for r, err := range c.All() {
				if err != nil {
					t.Fatalf("reading: %v", err)
				}
				if string(r.([]byte)) != fmt.Sprint(count) {
					t.Fatalf("response %d = %q", count, r)
				}
				count++
			}
			wg.Wait()
			if werr != nil || count != n {
				t.Fatalf("writer: %v; read %d responses, want %d", werr, count, n)
			}
		})
		t.Run(tc.name+"/server ends with an error", func(t *testing.T) {
			c := open(t, "FailAfterOne")
			if err := c.Write([]byte("a")); err != nil {
				t.Fatalf("first Write: %v", err)
			}
			if got, err := c.Read(); err != nil || string(got.([]byte)) != "a" {
				t.Fatalf("Read = %q, %v", got, err)
			}
			if r := rpcErr(t, writeUntilError(t, c), grpc.StatusCodeNotFound); r.Details() != "gone" {
				t.Fatalf("Write's error details = %q", r.Details())
			}
			_, err := c.Read()
			rpcErr(t, err, grpc.StatusCodeNotFound)
		})
		t.Run(tc.name+"/server ends with OK before reading", func(t *testing.T) {
			c := open(t, "OkEarly")
			if err := writeUntilError(t, c); !errors.Is(err, grpc.ErrRPCFinished) {
				t.Fatalf("Write = %v, want ErrRPCFinished", err)
			}
			if _, err := c.Read(); err != io.EOF {
				t.Fatalf("Read = %v, want io.EOF", err)
			}
		})
		t.Run(tc.name+"/cancel", func(t *testing.T) {
			c := open(t, "Hang")
			if err := c.Write([]byte("a")); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if !c.Cancel() {
				t.Fatal("Cancel returned false on a live RPC")
			}
			rpcErr(t, c.Write([]byte("b")), grpc.StatusCodeCancelled)
			_, err := c.Read()
			rpcErr(t, err, grpc.StatusCodeCancelled)
		})
		t.Run(tc.name+"/deadline", func(t *testing.T) {
			c := open(t, "Hang", grpc.WithTimeout(50*time.Millisecond))
			_, err := c.Read()
			rpcErr(t, err, grpc.StatusCodeDeadlineExceeded)
			rpcErr(t, c.Write([]byte("a")), grpc.StatusCodeDeadlineExceeded)
		})
	}
	t.Run("serializer failure", func(t *testing.T) {
		c, err := plain.StreamStream("/test.Open/Echo", grpc.WithRequestSerializer(failingSerializer)).Open(grpc.WithTimeout(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		r := rpcErr(t, c.Write("x"), grpc.StatusCodeInternal)
		if r.Details() != "Exception serializing request!" {
			t.Fatalf("details = %q", r.Details())
		}
		_, err = c.Read()
		rpcErr(t, err, grpc.StatusCodeInternal)
	})
	t.Run("interceptor answers without the server", func(t *testing.T) {
		deny := grpc.StreamStreamClientInterceptorFunc(func(grpc.StreamStreamContinuation, *grpc.ClientCallDetails, iter.Seq2[any, error]) (grpc.CallIterator, error) {
			return grpc.CompletedCallIterator([]any{[]byte("cached")}, grpc.Status{Code: grpc.StatusCodePermissionDenied, Details: "no"}), nil
		})
		ch, err := grpc.InterceptChannel(plain, deny)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ch.StreamStream("/test.Open/Echo").Open()
		if err != nil {
			t.Fatal(err)
		}
		rpcErr(t, c.Write([]byte("a")), grpc.StatusCodePermissionDenied)
		if got, err := c.Read(); err != nil || string(got.([]byte)) != "cached" {
			t.Fatalf("Read = %q, %v", got, err)
		}
		_, err = c.Read()
		rpcErr(t, err, grpc.StatusCodePermissionDenied)
	})
	t.Run("closed channel", func(t *testing.T) {
		for _, ch := range []*grpc.Channel{dial(t, target), mustIntercept(t, dial(t, target), counting)} {
			ch.Close()
			if _, err := ch.StreamStream("/test.Open/Echo").Open(); !errors.Is(err, grpc.ErrChannelClosed) {
				t.Fatalf("Open on a closed channel = %v, want ErrChannelClosed", err)
			}
		}
	})
}

func mustIntercept(t *testing.T, ch *grpc.Channel, interceptors ...any) *grpc.Channel {
	t.Helper()
	ic, err := grpc.InterceptChannel(ch, interceptors...)
	if err != nil {
		t.Fatal(err)
	}
	return ic
}
