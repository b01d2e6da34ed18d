package grpc_test

import (
	"errors"
	"iter"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/grpcpy/grpcpy/grpc"
)

// sockets is the set of sockets this process holds open ("socket:[inode]"):
// a socket opened between two readings is one the second has and the first
// has not (another test's socket closing meanwhile is no concern).
func sockets(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	out := make(map[string]bool)
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			out[l] = true
		}
	}
	return out
}

// openedSockets are the sockets in after and not in before.
func openedSockets(before, after map[string]bool) []string {
	var opened []string
	for s := range after {
		if !before[s] {
			opened = append(opened, s)
		}
	}
	return opened
}

// inprocServer starts a server with no port and an in-process channel to it.
func inprocServer(t *testing.T, handlers []grpc.GenericRpcHandler) (*grpc.Server, *grpc.Channel) {
	t.Helper()
	s, err := grpc.NewServer(nil, grpc.WithHandlers(handlers...))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ch, err := grpc.InProcessChannel(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ch.Close()
		s.Stop(grpc.NoGrace)
	})
	return s, ch
}

// TestInProcessChannel runs every RPC shape, metadata, status and a
// deadline over the core's in-process transport and checks that no socket
// was opened on the way.
func TestInProcessChannel(t *testing.T) {
	before := sockets(t)
	_, ch := inprocServer(t, service("test.Inproc", map[string]*grpc.RpcMethodHandler{
		"Echo": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			ctx.SetTrailingMetadata(grpc.Metadata{{Key: "echoed", Value: string(req.([]byte))}})
			if string(req.([]byte)) == "fail" {
				ctx.Abort(grpc.StatusCodeFailedPrecondition, "no")
			}
			return req, nil
		}),
		"Split": grpc.UnaryStreamRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for _, b := range req.([]byte) {
					if !yield([]byte{b}, nil) {
						return
					}
				}
			}
		}),
		"Join": grpc.StreamUnaryRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) (any, error) {
			var out []byte
			for r, err := range reqs {
				if err != nil {
					return nil, err
				}
				out = append(out, r.([]byte)...)
			}
			return out, nil
		}),
		"Bidi": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
			return func(yield func(any, error) bool) {
				for r, err := range reqs {
					if err != nil || !yield(r, nil) {
						return
					}
				}
			}
		}),
		"Sleep": grpc.UnaryUnaryRpcMethodHandler(func(req any, ctx *grpc.ServicerContext) (any, error) {
			<-ctx.Context().Done()
			return req, nil
		}),
	}))
	resp, call, err := ch.UnaryUnary("/test.Inproc/Echo").WithCall([]byte("hi"), grpc.WithTimeout(testTimeout))
	if err != nil || string(resp.([]byte)) != "hi" {
		t.Fatalf("Echo: %v %v", resp, err)
	}
	if got := call.TrailingMetadata(); len(got) == 0 || got[0] != (grpc.Metadatum{Key: "echoed", Value: "hi"}) {
		t.Errorf("trailing metadata %v", got)
	}
	_, err = ch.UnaryUnary("/test.Inproc/Echo").Call([]byte("fail"), grpc.WithTimeout(testTimeout))
	var rpcErr *grpc.RpcError
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeFailedPrecondition || rpcErr.Details() != "no" {
		t.Errorf("abort: %v", err)
	}
	it, err := ch.UnaryStream("/test.Inproc/Split").Call([]byte("abc"), grpc.WithTimeout(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for r, err := range it.All() {
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(r.([]byte)))
	}
	if strings.Join(parts, ",") != "a,b,c" {
		t.Errorf("Split: %v", parts)
	}
	joined, err := ch.StreamUnary("/test.Inproc/Join").Call(grpc.Requests[any]([]byte("x"), []byte("y")), grpc.WithTimeout(testTimeout))
	if err != nil || string(joined.([]byte)) != "xy" {
		t.Errorf("Join: %v %v", joined, err)
	}
	bidi, err := ch.StreamStream("/test.Inproc/Bidi").Call(grpc.Requests[any]([]byte("1"), []byte("2")), grpc.WithTimeout(testTimeout))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, err := range bidi.All() {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("Bidi: %d responses", n)
	}
	start := time.Now()
	_, err = ch.UnaryUnary("/test.Inproc/Sleep").Call([]byte("z"), grpc.WithTimeout(50*time.Millisecond))
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeDeadlineExceeded {
		t.Errorf("deadline: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("deadline took %v", d)
	}
	if opened := openedSockets(before, sockets(t)); len(opened) > 0 {
		t.Errorf("sockets opened: %v", opened)
	}
}

// TestInProcessChannelNeedsStartedServer: a server not started (or
// stopped) gives a clear error, not a channel that hangs.
func TestInProcessChannelNeedsStartedServer(t *testing.T) {
	s, err := grpc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := grpc.InProcessChannel(s); err == nil {
		t.Error("InProcessChannel to a server not started: no error")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ch, err := grpc.InProcessChannel(s)
	if err != nil {
		t.Fatal(err)
	}
	s.Stop(grpc.NoGrace).Wait()
	_, err = ch.UnaryUnary("/test.Inproc/Echo").Call([]byte("x"), grpc.WithTimeout(testTimeout))
	var rpcErr *grpc.RpcError
	if !errors.As(err, &rpcErr) || rpcErr.Code() != grpc.StatusCodeUnavailable {
		t.Errorf("call after the server stopped: %v", err)
	}
	ch.Close()
	if _, err := grpc.InProcessChannel(s); err == nil {
		t.Error("InProcessChannel to a stopped server: no error")
	}
}

// TestInProcessChannelServerStopsUnderLoad stops the server while
// goroutines keep starting RPCs and a stream is open: every RPC ends with
// a status (UNAVAILABLE or CANCELLED once the server is gone), none
// crashes or hangs, and the C objects are all released.
func TestInProcessChannelServerStopsUnderLoad(t *testing.T) {
	for round := 0; round < 5; round++ {
		s, err := grpc.NewServer(nil, grpc.WithHandlers(service("test.Inproc", map[string]*grpc.RpcMethodHandler{
			"Echo": echoHandler(),
			"Bidi": grpc.StreamStreamRpcMethodHandler(func(reqs iter.Seq2[any, error], ctx *grpc.ServicerContext) iter.Seq2[any, error] {
				return func(yield func(any, error) bool) {
					for r, err := range reqs {
						if err != nil || !yield(r, nil) {
							return
						}
					}
				}
			}),
		})...))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		ch, err := grpc.InProcessChannel(s)
		if err != nil {
			t.Fatal(err)
		}
		stream, err := ch.StreamStream("/test.Inproc/Bidi").Open(grpc.WithTimeout(testTimeout))
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Write([]byte("open")); err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Read(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		errs := make(chan error, 4)
		for g := 0; g < 4; g++ {
			go func() {
				for {
					select {
					case <-done:
						errs <- nil
						return
					default:
					}
					_, err := ch.UnaryUnary("/test.Inproc/Echo").Call([]byte("x"), grpc.WithTimeout(testTimeout))
					var rpcErr *grpc.RpcError
					if err != nil && (!errors.As(err, &rpcErr) || (rpcErr.Code() != grpc.StatusCodeUnavailable &&
						rpcErr.Code() != grpc.StatusCodeCancelled)) {
						errs <- err
						return
					}
				}
			}()
		}
		time.Sleep(5 * time.Millisecond)
		s.Stop(grpc.NoGrace).Wait()
		if _, err := stream.Read(); err == nil {
			t.Error("stream still open after Stop")
		}
		time.Sleep(2 * time.Millisecond)
		close(done)
		for g := 0; g < 4; g++ {
			if err := <-errs; err != nil {
				t.Errorf("round %d: %v", round, err)
			}
		}
		ch.Close()
	}
}
